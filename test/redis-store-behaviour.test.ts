// RedisTokenStore against a scripted client (the shape of an ioredis client, no Redis): what get() makes of each
// kind of stored value, which of two values it picks during a key rotation, how waitForToken() waits (on pub/sub
// when subscribed, polling when not, giving up at its deadline) and what it reports. Things a real Redis will not
// easily produce: a reply of the wrong type, a subscription that never answers.
import { randomBytes } from 'node:crypto';
import type { StoredToken } from 'm2m-token';
import { RedisTokenStore } from 'm2m-token/redis';
import { describe, expect, it, vi } from 'vitest';
import { Keyring } from '../src/redis/keyring.js';
import { READ, WRITE } from '../src/redis/scripts.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const TOKEN: StoredToken = { accessToken: 'at', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 };

interface Fake {
  /** What READ answers for a Redis key (after the prefix and hash: the store's own name). */
  read: (name: string) => unknown;
  /** Names READ was sent for, in order. */
  reads: string[];
  /** How SUBSCRIBE answers. */
  subscribe: () => Promise<unknown>;
  /** Delivers a message on the subscriber connection. */
  publish: (channel: string) => void;
  channels: string[];
  /** Subscriber connections made, and UNSUBSCRIBEs sent. */
  connections: { status: string; closed: boolean }[];
  unsubscribes: string[];
  /** WRITEs sent: the name and [value, px, channel]. */
  writes: { name: string; args: string[] }[];
}

type Kind = 'ioredis' | 'node-redis';

function fakeRedis(init: Partial<Pick<Fake, 'read' | 'subscribe'>> = {}, kind: Kind = 'ioredis') {
  let onMessage: ((channel: string) => void) | undefined;
  const fake: Fake = {
    read: init.read ?? (() => null),
    reads: [],
    subscribe: init.subscribe ?? (async () => 1),
    publish: (channel) => onMessage?.(channel),
    channels: [],
    connections: [],
    unsubscribes: [],
    writes: [],
  };
  // ioredis: a status, 'end' announced after a disconnect (later, as a socket closes), message events.
  const ioConnection = () => {
    let onEnd: (() => void) | undefined;
    const connection = {
      status: 'wait',
      closed: false,
      on(event: string, listener: (channel: string) => void) {
        if (event === 'message') onMessage = listener;
      },
      once(event: string, listener: () => void) {
        if (event === 'end') onEnd = listener;
      },
      connect: async () => {
        connection.status = 'ready';
      },
      subscribe: (channel: string) => {
        fake.channels.push(channel);
        return fake.subscribe();
      },
      unsubscribe: async (channel: string) => {
        fake.unsubscribes.push(channel);
        return 1;
      },
      disconnect() {
        if (connection.status === 'end') return; // an ended connection says nothing more
        connection.status = 'end';
        setTimeout(() => {
          connection.closed = true;
          onEnd?.();
        }, 20);
      },
    };
    fake.connections.push(connection);
    return connection;
  };
  // node-redis: isOpen, a listener per subscription, destroy().
  const nodeConnection = () => {
    const connection = {
      isOpen: false,
      closed: false,
      get status() {
        return connection.isOpen ? 'ready' : 'end';
      },
      set status(value: string) {
        connection.isOpen = value !== 'end';
      },
      on() {},
      connect: async () => {
        connection.isOpen = true;
      },
      subscribe: (channel: string, listener: (message: string, channel: string) => void) => {
        fake.channels.push(channel);
        onMessage = (c) => listener('', c);
        return fake.subscribe();
      },
      unsubscribe: async (channel: string) => {
        fake.unsubscribes.push(channel);
      },
      destroy() {
        connection.isOpen = false;
        connection.closed = true;
      },
    };
    fake.connections.push(connection);
    return connection;
  };
  const answer = async (sha: string, name: string, args: string[] = []) => {
    if (sha === READ.sha || sha === READ.source) {
      fake.reads.push(name);
      return fake.read(name);
    }
    if (sha === WRITE.sha || sha === WRITE.source) fake.writes.push({ name, args });
    return 1;
  };
  const redis =
    kind === 'ioredis'
      ? { status: 'ready', isCluster: false, connect: async () => {}, duplicate: ioConnection, evalsha: (sha: string, _n: number, name: string, ...args: string[]) => answer(sha, name, args), eval: (sha: string, _n: number, name: string, ...args: string[]) => answer(sha, name, args) }
      : { isOpen: true, isReady: true, connect: async () => {}, duplicate: nodeConnection, evalSha: (sha: string, o: { keys: string[] }) => answer(sha, o.keys[0]!), eval: (sha: string, o: { keys: string[] }) => answer(sha, o.keys[0]!) };
  return { redis, fake };
}

function storeOf(init: Partial<Pick<Fake, 'read' | 'subscribe'>> = {}, encryptionKeys: Buffer[] = [K1], kind: Kind = 'ioredis', prefix?: string) {
  const { redis, fake } = fakeRedis(init, kind);
  return { store: new RedisTokenStore({ redis: redis as never, encryptionKeys, prefix }), fake };
}

const store = (init: Partial<Pick<Fake, 'read' | 'subscribe'>> = {}, encryptionKeys: Buffer[] = [K1]) => storeOf(init, encryptionKeys);
const sealed = (key: Buffer, cacheKey: string, plaintext: string) => new Keyring([key]).seal(cacheKey, plaintext);
const value = (key: Buffer, cacheKey: string, issuedAt: number, token: StoredToken = TOKEN) => sealed(key, cacheKey, JSON.stringify({ issuedAt, token }));
const failure = (promise: Promise<unknown>) => promise.then(() => expect.unreachable('expected a rejection'), (e: unknown) => e as Error);

describe('get: what a stored value must be', () => {
  it('a value over the cap, as Redis answers it (its length, a number or a bigint), is refused unread', async () => {
    for (const length of [70_000, 70_000n]) {
      const { store: s } = store({ read: () => length });
      const error = await failure(s.get('k'));
      expect(error).toMatchObject({ name: 'UnusableValueError', message: 'RedisTokenStore: the stored value is 70000 bytes, over the 65536-byte cap, so it was not read; it is ignored and the token is fetched again.' });
    }
  });

  it('a Buffer reply is read as UTF-8; any other non-string is refused', async () => {
    const { store: s } = store({ read: () => Buffer.from(value(K1, 'k', 1), 'utf8') });
    expect(await s.get('k')).toEqual(TOKEN);
    for (const reply of [{}, true, ['x']]) {
      const { store: other } = store({ read: () => reply });
      expect((await failure(other.get('k'))).message).toBe('RedisTokenStore: the stored value is not a string; it is ignored and the token is fetched again.');
    }
  });

  it('a value that decrypts to anything but { issuedAt: number, token: object } is refused, quoting nothing', async () => {
    const cases: [string, string][] = [
      ['not json at all', 'decrypted but is not JSON'],
      ['5', 'decrypted but is not a token object'],
      ['null', 'decrypted but is not a token object'],
      ['[1, 2]', 'decrypted but is not a token object'],
      [JSON.stringify({ issuedAt: 'x', token: TOKEN }), 'decrypted but is not a token object'],
      [JSON.stringify({ issuedAt: 1, token: null }), 'decrypted but is not a token object'],
      [JSON.stringify({ issuedAt: 1, token: 'at' }), 'decrypted but is not a token object'],
      [JSON.stringify({ issuedAt: 1, token: [TOKEN] }), 'decrypted but is not a token object'],
      [JSON.stringify({ issuedAt: 1 }), 'decrypted but is not a token object'],
    ];
    for (const [plaintext, why] of cases) {
      const { store: s } = store({ read: () => sealed(K1, 'k', plaintext) });
      const error = await failure(s.get('k'));
      expect(error.message, plaintext).toBe(`RedisTokenStore: the stored value ${why}; it is ignored and the token is fetched again.`);
      expect(error.cause).toBeUndefined();
    }
  });

  it('during a rotation, the most recently issued of the values under each key, whichever key wrote it', async () => {
    for (const [older, newer] of [[K1, K2], [K2, K1]] as const) {
      const at = (key: Buffer) => (key === newer ? 200 : 100);
      const read = (name: string) => {
        // The store reads one name per key, newest key first.
        const index = fake.reads.filter((n) => n === name).length === 1 ? fake.reads.indexOf(name) : -1;
        const key = index === 0 ? K2 : K1;
        return value(key, 'k', at(key), { ...TOKEN, accessToken: key === newer ? 'newer' : 'older' });
      };
      const { store: s, fake } = store({ read }, [K2, K1]);
      expect((await s.get('k'))?.accessToken, older === K1 ? 'K1 older' : 'K2 older').toBe('newer');
    }
  });

  it('a usable value wins over an unusable one beside it; two unusable ones throw', async () => {
    const { store: s, fake } = store({ read: (name) => (name === fake.reads[0] ? 'garbage' : value(K1, 'k', 1)) }, [K2, K1]);
    expect(await s.get('k')).toEqual(TOKEN);
    const { store: bad } = store({ read: () => 'garbage' }, [K2, K1]);
    await expect(bad.get('k')).rejects.toThrow('is not an envelope');
  });
});

describe('set and blocks, as written', () => {
  it('a value older than the one this process wrote is not read back', async () => {
    let stored: string | null = null;
    const { store: s } = store({ read: () => stored });
    await s.set('k', TOKEN, 60_000);
    stored = value(K1, 'k', Date.now() - 60_000, { ...TOKEN, accessToken: 'older' });
    expect(await s.get('k')).toBeUndefined();
  });

  it('a block is sealed under <prefix>{hash}:block until its end, announced on <name>:set; a block already over is not written', async () => {
    const { store: s, fake } = storeOf({}, [K1], 'ioredis', 'app:token:');
    const until = Date.now() + 5_000;
    await s.setBlock('scope', until);
    expect(fake.writes).toHaveLength(1);
    const [{ name, args }] = fake.writes as [{ name: string; args: string[] }];
    expect(name).toMatch(/^app:token:\{[A-Za-z0-9_-]{22}\}:block$/);
    expect(Number(args[1])).toBeGreaterThan(4_500);
    expect(Number(args[1])).toBeLessThanOrEqual(5_000);
    expect(args[2]).toBe(`${name}:set`);
    await s.setBlock('scope', Date.now() - 1_000);
    expect(fake.writes).toHaveLength(1);
  });

  it('getBlock: the end of a block still running; none for one over, or for a value that is not a number', async () => {
    let stored: string | null = null;
    let blockName = '';
    const { store: s } = store({ read: (name) => (name === blockName ? stored : null) });
    const { store: writer, fake } = store();
    const until = Date.now() + 60_000;
    await writer.setBlock('scope', until);
    blockName = fake.writes[0]!.name;
    stored = fake.writes[0]!.args[0]!;
    expect(await s.getBlock('scope')).toBe(until);
    await writer.setBlock('other', Date.now() + 60_000);
    expect(await s.getBlock('other')).toBeUndefined();
    // A sealed block that ended (Redis has not dropped it yet) or says no time at all.
    const { store: w2, fake: f2 } = store({ read: () => stored });
    await w2.setBlock('scope', Date.now() + 60_000);
    for (const [plaintext, what] of [[String(Date.now() - 1_000), 'over'], ['soon', 'not a number']] as const) {
      const sealedBlock = new Keyring([K1]).seal(`quota-block\u0000scope`, plaintext);
      stored = sealedBlock;
      blockName = f2.writes[0]!.name;
      expect(await s.getBlock('scope'), what).toBeUndefined();
    }
    // The same hand-sealed value with an end still ahead is a block: the two above were refused for what they say.
    const ahead = Date.now() + 30_000;
    stored = new Keyring([K1]).seal(`quota-block\u0000scope`, String(ahead));
    expect(await s.getBlock('scope')).toBe(ahead);
  });
});

describe('waitForToken', () => {
  it('subscribed: waits for the announcement instead of polling, and returns what it then reads', async () => {
    let stored: string | null = null;
    const { store: s, fake } = store({ read: () => stored });
    const waiting = s.waitForToken('k', 2_000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(fake.reads.length).toBeLessThanOrEqual(1);
    stored = value(K1, 'k', 1);
    fake.publish(fake.channels[0]!);
    expect(await waiting).toEqual(TOKEN);
    expect(fake.reads.length).toBeLessThanOrEqual(2);
    await s.close();
  });

  it('when subscribing fails: polls every 25 ms, finds the token soon, and reports nothing', async () => {
    let stored: string | null = null;
    const { store: s, fake } = store({ read: () => stored, subscribe: () => Promise.reject(new Error('no pub/sub')) });
    const started = performance.now();
    const waiting = s.waitForToken('k', 3_000);
    setTimeout(() => (stored = value(K1, 'k', 1)), 100);
    expect(await waiting).toEqual(TOKEN);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(fake.reads.length).toBeGreaterThanOrEqual(3);
    await s.close();
  });

  it('when subscribing fails and nothing comes: undefined at the deadline is reported as an error with the cause', async () => {
    const cause = new Error('no pub/sub');
    const { store: s } = store({ subscribe: () => Promise.reject(cause) });
    const error = await failure(s.waitForToken('k', 100));
    expect(error.message).toBe('RedisTokenStore: subscribing to the pub/sub channel failed, so the wait polled instead.');
    expect(error.cause).toBe(cause);
    await s.close();
  });

  it('a subscription that never answers does not hold the wait past its deadline', async () => {
    const { store: s, fake } = store({ subscribe: () => new Promise(() => {}) });
    const started = performance.now();
    expect(await s.waitForToken('k', 150)).toBeUndefined();
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1_500);
    expect(fake.reads.length).toBeGreaterThanOrEqual(1);
    await s.close();
  });

  it('a subscription still unconfirmed 5 s after it was asked for is reported; before that, not', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { store: s } = store({ subscribe: () => new Promise(() => {}) });
      const settle = (p: Promise<unknown>) => p.then((v) => ({ v }), (e: unknown) => ({ e: (e as Error).message }));
      // A long waiter keeps the subscription (and when it was asked for) alive for the others.
      const long = settle(s.waitForToken('k', 5_400));
      const early = s.waitForToken('k', 4_900).then(
        (v) => ({ v }),
        (e: unknown) => ({ e }),
      );
      await vi.advanceTimersByTimeAsync(5_000);
      expect(await early).toEqual({ v: undefined });
      // The same unconfirmed subscription, now older than 5 s.
      const late = s.waitForToken('k', 200).then(
        (v) => ({ v }),
        (e: unknown) => ({ e: (e as Error).message }),
      );
      await vi.advanceTimersByTimeAsync(300);
      const reported = { e: 'RedisTokenStore: subscribing to the pub/sub channel was not confirmed in time, so the wait polled instead.' };
      expect(await late).toEqual(reported);
      await vi.advanceTimersByTimeAsync(200);
      expect(await long).toEqual(reported);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an unusable value does not end the wait; a Redis failure does', async () => {
    let stored: unknown = 'garbage';
    const { store: s } = store({
      read: () => {
        if (stored instanceof Error) throw stored;
        return stored;
      },
      subscribe: () => Promise.reject(new Error('no pub/sub')),
    });
    const waiting = s.waitForToken('k', 3_000);
    setTimeout(() => (stored = value(K1, 'k', 1)), 80);
    expect(await waiting).toEqual(TOKEN);
    const down = new Error('connection lost');
    stored = down;
    const { store: other } = store({ read: () => Promise.reject(down), subscribe: () => Promise.reject(new Error('no pub/sub')) });
    expect(await failure(other.waitForToken('k', 1_000))).toBe(down);
    await s.close();
    await other.close();
  });

  it('after close(): waiting ones give up, new calls are refused', async () => {
    const { store: s } = store();
    const waiting = s.waitForToken('k', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    await s.close();
    expect(await waiting).toBeUndefined();
    // A waiter that close() did not wake would wait out its 10 s.
    expect(performance.now() - started).toBeLessThan(3_000);
    await expect(s.waitForToken('k', 100)).rejects.toThrow('RedisTokenStore is closed.');
    await expect(s.get('k')).rejects.toThrow('RedisTokenStore is closed.');
  });
});

describe.each(['ioredis', 'node-redis'] as const)('the pub/sub connection and its subscriptions (%s)', (kind) => {
  const store = (init: Partial<Pick<Fake, 'read' | 'subscribe'>> = {}) => storeOf(init, [K1], kind);
  const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

  it('each announcement costs one read; an announcement on a channel no one waits on, or twice in a row, is harmless', async () => {
    let stored: string | null = null;
    const { store: s, fake } = store({ read: () => stored });
    const waiting = s.waitForToken('k', 2_000);
    await tick();
    expect(fake.reads).toHaveLength(1);
    fake.publish('some-other-channel');
    fake.publish(fake.channels[0]!); // nothing stored yet: read, and wait again
    await tick();
    expect(fake.reads).toHaveLength(2);
    stored = value(K1, 'k', 1);
    fake.publish(fake.channels[0]!);
    fake.publish(fake.channels[0]!);
    expect(await waiting).toEqual(TOKEN);
    expect(fake.reads).toHaveLength(3);
    await s.close();
  });

  it('waiters on one key share one subscription, dropped when the last is done', async () => {
    const { store: s, fake } = store();
    const a = s.waitForToken('k', 100);
    const b = s.waitForToken('k', 200);
    await a;
    await tick();
    expect(fake.channels).toHaveLength(1);
    expect(fake.unsubscribes).toEqual([]);
    await b;
    await tick();
    expect(fake.unsubscribes).toEqual(fake.channels);
    // A later waiter subscribes again, on the same connection.
    await s.waitForToken('k', 50);
    await tick();
    expect(fake.channels).toHaveLength(2);
    expect(fake.connections).toHaveLength(1);
    await s.close();
  });

  it('a failed subscription is forgotten: the next waiter subscribes again', async () => {
    let fail = true;
    const { store: s, fake } = store({ subscribe: () => (fail ? Promise.reject(new Error('not now')) : Promise.resolve(1)) });
    await expect(s.waitForToken('k', 50)).rejects.toThrow('subscribing to the pub/sub channel failed');
    fail = false;
    await expect(s.waitForToken('k', 50)).resolves.toBeUndefined();
    expect(fake.channels).toHaveLength(2);
    await s.close();
  });

  it('a connection whose client gave up is replaced by the next waiter, once no subscription is left on it', async () => {
    const { store: s, fake } = store();
    await s.waitForToken('k', 30);
    await tick();
    expect(fake.connections).toHaveLength(1);
    await s.waitForToken('k', 30);
    await tick();
    expect(fake.connections).toHaveLength(1);
    fake.connections[0]!.status = 'end';
    await s.waitForToken('k', 30);
    await tick();
    expect(fake.connections).toHaveLength(2);
    // close() resolves once the connection it made is closed, at once when it had ended already.
    await s.close();
    expect(fake.connections[1]!.closed).toBe(true);
  });

  it('close() of a store whose connection had ended resolves at once', async () => {
    const { store: s, fake } = store();
    await s.waitForToken('k', 30);
    fake.connections[0]!.status = 'end';
    const started = performance.now();
    await s.close();
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
