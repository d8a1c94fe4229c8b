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
