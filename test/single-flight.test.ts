import { describe, expect, it } from 'vitest';
import { setup } from './helpers/client.js';
import { json, type Responder } from './helpers/token-server.js';

/** A responder that holds every request until release() is called. */
function gate(): { responder: Responder; release: () => void; arrived: Promise<void> } {
  let release!: () => void;
  let arrivedResolve!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const arrived = new Promise<void>((r) => (arrivedResolve = r));
  return {
    release,
    arrived,
    responder: async (_req, res, i) => {
      arrivedResolve();
      await released;
      json(res, 200, { access_token: `token-${i}`, token_type: 'Bearer', expires_in: 3600 });
    },
  };
}

describe('single flight', () => {
  it('10 000 concurrent callers on a cold cache cause exactly one request', async () => {
    const { server, client } = await setup();
    const tokens = await Promise.all(Array.from({ length: 10_000 }, () => client.getToken({ audience: 'x' })));
    expect(server.requests).toHaveLength(1);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['token-1']));
  });

  it('a caller whose signal aborts stops waiting; the others still get the token', async () => {
    const { server, client } = await setup();
    const g = gate();
    server.respond(g.responder);
    const controller = new AbortController();
    const leaving = client.getToken({ signal: controller.signal });
    const staying = client.getToken();
    await g.arrived;
    controller.abort(new Error('caller left'));
    await expect(leaving).rejects.toMatchObject({ code: 'M2M_ABORTED' });
    g.release();
    await expect(staying).resolves.toMatchObject({ accessToken: 'token-1' });
    expect(server.requests).toHaveLength(1);
    // The shared request went on and filled the cache.
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'token-1' });
    expect(server.requests).toHaveLength(1);
  });

  it('an already aborted signal rejects at once', async () => {
    const { server, client } = await setup();
    await expect(client.getToken({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'M2M_ABORTED' });
    await expect(client.getToken({ signal: AbortSignal.abort(), forceRefresh: true })).rejects.toMatchObject({ code: 'M2M_ABORTED' });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests).toHaveLength(0);
  });

  it('concurrent forceRefresh calls collapse into one request', async () => {
    const { server, client } = await setup();
    await client.getToken();
    const tokens = await Promise.all(Array.from({ length: 500 }, () => client.getToken({ forceRefresh: true })));
    expect(server.requests).toHaveLength(2);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['token-2']));
  });

  it('different keys fly separately', async () => {
    const { server, client } = await setup();
    await Promise.all([
      ...Array.from({ length: 100 }, () => client.getToken({ audience: 'a' })),
      ...Array.from({ length: 100 }, () => client.getToken({ audience: 'b' })),
    ]);
    expect(server.requests).toHaveLength(2);
  });
});
