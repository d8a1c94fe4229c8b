import { inspect } from 'node:util';
import { expect } from 'vitest';

/** Every way a value can be printed or serialized, cause chain included. */
export function renderings(value: unknown): string[] {
  const out = [inspect(value, { depth: 20 }), inspect(value, { depth: 20, showHidden: true })];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch (error) {
    out.push(String(error));
  }
  for (let v: unknown = value, i = 0; v instanceof Error && i < 10; v = v.cause, i++) {
    out.push(v.message, String(v), v.stack ?? '');
  }
  return out;
}

/** Fails if any secret appears in any rendering of the value. */
export function expectNoLeak(value: unknown, secrets: readonly string[]): void {
  for (const text of renderings(value)) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
}

/** Where {@link findSecretPaths} stops, and how far it may go. */
export interface WalkOptions {
  /** Objects visited at most; a walk that needs more fails loudly rather than pass on a partial view. */
  maxNodes?: number;
}

const GLOBAL_ROOTS = new Set<unknown>([globalThis, process]);

/**
 * Every path from `value` to text that contains one of `secrets`, found by walking the object graph the way a
 * determined reader of a logged value could: own properties with string and symbol keys, enumerable or not;
 * getters (own and inherited, called with the value as receiver); Map and Set entries; the bytes of buffers and
 * typed arrays (as latin1). It stops at `globalThis` and `process`, which lead everywhere.
 *
 * Returns paths such as `.config.httpAgent.sockets["127.0.0.1:80:"][0]._httpMessage._header`; empty means no
 * path. Throws when the graph is larger than `maxNodes`.
 */
export function findSecretPaths(value: unknown, secrets: readonly string[], options: WalkOptions = {}): string[] {
  const maxNodes = options.maxNodes ?? 50_000;
  const found: string[] = [];
  const seen = new Set<unknown>();
  const queue: [unknown, string][] = [[value, '']];
  const check = (text: string, path: string) => {
    if (secrets.some((s) => text.includes(s))) found.push(path || '(root)');
  };
  while (queue.length > 0) {
    const [v, path] = queue.shift()!;
    if (typeof v === 'string') {
      check(v, path);
      continue;
    }
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null) continue;
    if (seen.has(v) || GLOBAL_ROOTS.has(v)) continue;
    seen.add(v);
    if (seen.size > maxNodes) throw new Error(`findSecretPaths: more than ${maxNodes} objects reachable (at ${path || '(root)'})`);
    if (ArrayBuffer.isView(v)) {
      check(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'), path);
      continue;
    }
    if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer)) {
      check(Buffer.from(v as ArrayBuffer).toString('latin1'), path);
      continue;
    }
    if (v instanceof Map) {
      let i = 0;
      for (const [k, item] of v) {
        queue.push([k, `${path}<map key ${i}>`], [item, `${path}<map ${typeof k === 'string' ? JSON.stringify(k) : i}>`]);
        i++;
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const item of v) queue.push([item, `${path}<set ${i++}>`]);
    }
    for (const key of Reflect.ownKeys(v)) {
      const name = typeof key === 'symbol' ? `[${String(key)}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      if (typeof key === 'string') check(key, `${path}${name}<key>`);
      const descriptor = Object.getOwnPropertyDescriptor(v, key);
      if (descriptor === undefined) continue;
      if ('value' in descriptor) queue.push([descriptor.value, `${path}${name}`]);
      else if (descriptor.get) queue.push([callGetter(descriptor.get, v), `${path}${name}`]);
    }
    // Inherited getters (a Token's accessToken, a Request's headers): read them as the value.
    for (let proto = Object.getPrototypeOf(v) as object | null; proto && proto !== Object.prototype && proto !== Function.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const key of Reflect.ownKeys(proto)) {
        if (key === '__proto__') continue;
        const getter = Object.getOwnPropertyDescriptor(proto, key)?.get;
        if (getter) queue.push([callGetter(getter, v), `${path}.${String(key)}<getter>`]);
      }
    }
  }
  return found;
}

function callGetter(getter: () => unknown, receiver: unknown): unknown {
  try {
    return getter.call(receiver);
  } catch {
    return undefined;
  }
}

/**
 * The strict check for values that are meant to be redacted: no rendering and no reachable path leads to a
 * secret. Beyond {@link expectNoLeak}: `util.inspect` at unlimited depth with hidden properties and getters,
 * `structuredClone` (or the message of its refusal), and {@link findSecretPaths}.
 */
export function expectNoPath(value: unknown, secrets: readonly string[]): void {
  expectNoLeak(value, secrets);
  const texts = [inspect(value, { depth: Infinity, showHidden: true, getters: true }), inspect(value, { depth: Infinity, showHidden: true, showProxy: true })];
  let clone: unknown;
  try {
    clone = structuredClone(value);
    texts.push(inspect(clone, { depth: Infinity, showHidden: true }));
  } catch (error) {
    texts.push(String(error));
  }
  for (const text of texts) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
  expect(findSecretPaths(value, secrets)).toEqual([]);
  if (clone !== undefined) expect(findSecretPaths(clone, secrets)).toEqual([]);
}
