// Request headers in the shapes undici's dispatch accepts: a record, a flat [name, value, …] array, or an
// iterable of [name, value] pairs. Reading and adding one header without caring which shape the caller used.
import type { Dispatcher } from 'undici';

type Headers = Dispatcher.DispatchOptions['headers'];

/** Whether `headers` sets `name` (lowercase) to a value; an `undefined` value counts as unset, as undici does. */
export function hasHeader(headers: Headers, name: string): boolean {
  return pairs(headers).some(([key, value]) => value !== undefined && String(key).toLowerCase() === name);
}

/** A copy of `headers` with `name: value` added, in the caller's shape where possible. Never mutates `headers`. */
export function withHeader(headers: Headers, name: string, value: string): NonNullable<Headers> {
  if (headers === null || headers === undefined) return { [name]: value };
  if (!Array.isArray(headers) && !isIterable(headers)) return { ...headers, [name]: value };
  // A flat list: undici takes array values in it too, so each pair carries over as it is.
  return [...pairs(headers).filter(([, v]) => v !== undefined).flat(), name, value] as string[];
}

function pairs(headers: Headers): [unknown, unknown][] {
  if (headers === null || headers === undefined) return [];
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) return headers as unknown as [unknown, unknown][];
    const out: [unknown, unknown][] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) out.push([headers[i], headers[i + 1]]);
    return out;
  }
  if (isIterable(headers)) return [...(headers as Iterable<[unknown, unknown]>)];
  return Object.entries(headers);
}

function isIterable(value: object): boolean {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
