import { ErrorCode, TokenClient, TokenClientError } from 'm2m-token';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { assertSupportedNode, MIN_NODE_VERSION } from '../src/runtime.js';
import { unexpectedError } from '../src/transport.js';

it.each(['20.20.2', '22.18.9', '22.12.0', '18.0.0', '21.99.0'])('Node %s is refused with an error that names the required version', (version) => {
  let thrown: unknown;
  try {
    assertSupportedNode(version);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TokenClientError);
  expect(thrown).toMatchObject({ code: ErrorCode.UNSUPPORTED_RUNTIME });
  expect((thrown as Error).message).toContain(`Node.js ${MIN_NODE_VERSION} or newer`);
  expect((thrown as Error).message).toContain(`this is Node.js ${version}`);
});

it.each(['22.19.0', '22.19.1', '22.23.0', '23.0.0', '24.11.1', '26.0.0'])('Node %s is accepted', (version) => {
  expect(() => assertSupportedNode(version)).not.toThrow();
});

it('the running Node is supported, and the constructor checks it', () => {
  expect(() => new TokenClient({ domain: 'tenant.auth0.com', clientId: 'id', clientSecret: 'fake-client-secret' })).not.toThrow();
  expect(MIN_NODE_VERSION).toBe('22.19.0');
});

it('an unexpected error from another realm (a test runner\'s vm context) is named by its type, not "object"', () => {
  const foreign = runInNewContext('new TypeError("boom")') as unknown;
  expect(foreign instanceof Error).toBe(false);
  expect(unexpectedError(foreign).message).toContain('unexpectedly (TypeError)');
  expect(unexpectedError(Object.assign(new Error('x'), { code: 'EFOO' })).message).toContain('unexpectedly (Error EFOO)');
  expect(unexpectedError(null).message).toContain('unexpectedly (null)');
  expect(unexpectedError('text').message).toContain('unexpectedly (string)');
});

it('the version checked is the one package.json engines declares', async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  expect(`${pkg.engines.node.replace('>=', '')}.0`).toBe(MIN_NODE_VERSION);
});
