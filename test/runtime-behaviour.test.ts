// The Node version check in places that are not Node: no `process`, or a process without versions (a bundler's
// shim). The check then stays out of the way; on Node it compares part by part.
import { describe, expect, it } from 'vitest';
import { assertSupportedNode, MIN_NODE_VERSION } from '../src/runtime.js';

function withProcess(value: unknown, fn: () => void): void {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'process')!;
  Object.defineProperty(globalThis, 'process', { value, configurable: true, writable: true });
  try {
    fn();
  } finally {
    Object.defineProperty(globalThis, 'process', descriptor);
  }
}

describe('assertSupportedNode', () => {
  it('does nothing without a process, or without a Node version', () => {
    let threw: unknown = 'not run';
    withProcess(undefined, () => {
      try {
        assertSupportedNode();
        threw = undefined;
      } catch (error) {
        threw = error;
      }
    });
    expect(threw).toBeUndefined();
    withProcess({ versions: undefined }, () => {
      try {
        assertSupportedNode();
        threw = undefined;
      } catch (error) {
        threw = error;
      }
    });
    expect(threw).toBeUndefined();
  });

  it('compares versions part by part', () => {
    expect(() => assertSupportedNode(MIN_NODE_VERSION)).not.toThrow();
    expect(() => assertSupportedNode('22.19.1')).not.toThrow();
    expect(() => assertSupportedNode('22.20.0')).not.toThrow();
    expect(() => assertSupportedNode('23.0.0')).not.toThrow();
    expect(() => assertSupportedNode('22.18.9')).toThrow(/needs Node.js 22.19.0 or newer .* this is Node.js 22.18.9/);
    expect(() => assertSupportedNode('21.99.99')).toThrow(expect.objectContaining({ code: 'M2M_UNSUPPORTED_RUNTIME' }));
    expect(() => assertSupportedNode('22')).toThrow(/this is Node.js 22\. Upgrade Node.js\./);
  });
});
