import { inspect } from 'node:util';

/**
 * Every string reachable from a value: own properties (enumerable or not, string or symbol keys), the values of
 * own getters, array items, and the `cause` chain (an own property like any other). Cycles are followed once.
 */
export function reachableStrings(value: unknown, seen = new Set<unknown>(), out: string[] = []): string[] {
  if (typeof value === 'string') {
    out.push(value);
    return out;
  }
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return out;
  seen.add(value);
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(value);
  } catch {
    return out;
  }
  for (const key of keys) {
    if (typeof key === 'symbol' && key.description !== undefined) out.push(key.description);
    else if (typeof key === 'string') out.push(key);
    let child: unknown;
    try {
      child = (value as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    reachableStrings(child, seen, out);
  }
  return out;
}

/** How a rendering was made, for failure messages. */
export interface Rendering {
  how: string;
  text: string;
}

/**
 * Every way an error (or any value) can be printed, serialized or walked: `message`, `String()` and `stack` of
 * each error in the cause chain, `util.inspect` (depth Infinity, with and without `showHidden`),
 * `JSON.stringify`, `structuredClone` (inspected), and every reachable string (see {@link reachableStrings}).
 * A rendering that throws is recorded as its error's message (which could itself leak).
 */
export function renderAll(value: unknown): Rendering[] {
  const out: Rendering[] = [];
  const attempt = (how: string, make: () => string | undefined) => {
    try {
      out.push({ how, text: make() ?? '' });
    } catch (error) {
      out.push({ how: `${how} (threw)`, text: safeMessage(error) });
    }
  };
  attempt('inspect', () => inspect(value, { depth: Infinity }));
  attempt('inspect showHidden', () => inspect(value, { depth: Infinity, showHidden: true }));
  attempt('JSON.stringify', () => JSON.stringify(value));
  attempt('structuredClone', () => inspect(structuredClone(value), { depth: Infinity, showHidden: true }));
  attempt('String', () => String(value));
  const seen = new Set<unknown>();
  for (let v: unknown = value, i = 0; v instanceof Error && i < 20 && !seen.has(v); v = v.cause, i++) {
    seen.add(v);
    const error = v;
    attempt(`cause[${i}].message`, () => error.message);
    attempt(`cause[${i}] String`, () => String(error));
    attempt(`cause[${i}].stack`, () => error.stack);
  }
  const walked = reachableStrings(value);
  for (let i = 0; i < walked.length; i++) out.push({ how: `property walk #${i}`, text: walked[i]! });
  return out;
}

function safeMessage(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return '(unprintable)';
  }
}

/** The renderings of `value` that contain `needle`, or none. */
export function renderingsContaining(value: unknown, needles: readonly string[]): { needle: string; how: string; excerpt: string }[] {
  const hits: { needle: string; how: string; excerpt: string }[] = [];
  const renderings = renderAll(value);
  for (const needle of needles) {
    if (needle === '') continue;
    for (const { how, text } of renderings) {
      const at = text.indexOf(needle);
      if (at >= 0) {
        hits.push({ needle, how, excerpt: text.slice(Math.max(0, at - 60), at + needle.length + 60) });
        break;
      }
    }
  }
  return hits;
}
