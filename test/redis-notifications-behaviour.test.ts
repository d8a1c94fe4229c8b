// The store's pub/sub waiters (src/redis/notifications.ts) around a scripted subscriber connection: a message is
// never lost between two waits, close() ends every wait, a failed subscription is not inherited, and an ended
// connection is replaced only once nobody listens on it. These decide how soon a waiting process sees the token
// another one stored (the Redis suites cover the same paths against a real server, where their timing is luck).
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisCommands, Subscriber } from '../src/redis/commands.js';
import { Notifications } from '../src/redis/notifications.js';

/** A subscriber connection per subscriber() call; `failSubscribe` subscriptions reject, in order. */
function scripted(failSubscribe: boolean[] = []) {
  const connections: (Subscriber & { ended: boolean; deliver(channel: string): void; log: string[] })[] = [];
  const commands = {
    subscriber(onMessage: (channel: string) => void): Subscriber {
      const log: string[] = [];
      const connection = {
        ended: false,
        log,
        deliver: (channel: string) => onMessage(channel),
        connect: async () => {},
        subscribe: async (channel: string) => {
          log.push(`subscribe ${channel}`);
          if (failSubscribe.shift() === true) throw new Error('not connected');
        },
        unsubscribe: async (channel: string) => {
          log.push(`unsubscribe ${channel}`);
        },
        close: async () => {
          connection.ended = true;
        },
      };
      connections.push(connection);
      return connection;
    },
  } as unknown as RedisCommands;
  return { notifications: new Notifications(commands), connections };
}

const LATE = Symbol('late');
/** What `wait` settles with within `ms` real milliseconds, or LATE. */
async function within<T>(wait: Promise<T>, ms = 100): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), ms)));
  try {
    return await Promise.race([wait, late]);
  } finally {
    clearTimeout(timer);
  }
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('Notifications', () => {
  it('a message that arrives between two waits ends the next wait at once, and only that one', async () => {
    const { notifications, connections } = scripted();
    close = () => notifications.close();
    const listener = notifications.listen('ch');
    await listener.subscribed;
    connections[0]!.deliver('ch'); // nobody inside next() yet
    expect(await within(listener.next(60_000))).toBeUndefined();
    // Consumed: the next wait waits for a message again.
    expect(await within(listener.next(60_000), 50)).toBe(LATE);
    listener.close();
  });

  it('a message while waiting ends the wait; without one the wait ends at its timeout', async () => {
    const { notifications, connections } = scripted();
    close = () => notifications.close();
    const listener = notifications.listen('ch');
    await listener.subscribed;
    const waiting = listener.next(60_000);
    connections[0]!.deliver('other');
    connections[0]!.deliver('ch');
    expect(await within(waiting)).toBeUndefined();
    expect(await within(listener.next(10))).toBeUndefined();
    listener.close();
  });

  it('close() ends the waits in progress and every later one; listening afterwards is refused', async () => {
    const { notifications } = scripted();
    const listener = notifications.listen('ch');
    await listener.subscribed;
    const waiting = listener.next(60_000);
    await notifications.close();
    expect(await within(waiting)).toBeUndefined();
    expect(await within(listener.next(60_000))).toBeUndefined();
    expect(() => notifications.listen('ch')).toThrow('RedisTokenStore is closed.');
  });

  it('a failed subscription is not inherited: a waiter that comes while another still holds it subscribes again', async () => {
    const { notifications, connections } = scripted([true]);
    close = () => notifications.close();
    const first = notifications.listen('ch');
    await expect(first.subscribed).rejects.toThrow('not connected');
    const second = notifications.listen('ch');
    await expect(second.subscribed).resolves.toBeUndefined();
    expect(connections[0]!.log).toEqual(['subscribe ch', 'subscribe ch']);
    const waiting = second.next(60_000);
    connections[0]!.deliver('ch');
    expect(await within(waiting)).toBeUndefined();
    first.close();
    second.close();
  });

  it('a subscription that fails after its channel was taken over keeps the new subscription', async () => {
    // The first listener leaves before its SUBSCRIBE fails; the second one listens meanwhile, on a new subscription.
    const { notifications, connections } = scripted([true, false]);
    close = () => notifications.close();
    const first = notifications.listen('ch');
    first.close();
    const second = notifications.listen('ch');
    await expect(first.subscribed).rejects.toThrow('not connected');
    await second.subscribed;
    const waiting = second.next(60_000);
    connections[0]!.deliver('ch');
    expect(await within(waiting)).toBeUndefined();
    second.close();
  });

  it('the channel is unsubscribed once, when its last listener closes, however often that one closes', async () => {
    const { notifications, connections } = scripted();
    close = () => notifications.close();
    const first = notifications.listen('ch');
    const second = notifications.listen('ch');
    await first.subscribed;
    first.close();
    first.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(connections[0]!.log).toEqual(['subscribe ch']);
    second.close();
    second.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(connections[0]!.log).toEqual(['subscribe ch', 'unsubscribe ch']);
  });

  it('an ended connection is kept while others still listen on it, and replaced once nobody does', async () => {
    const { notifications, connections } = scripted();
    close = () => notifications.close();
    const first = notifications.listen('a');
    await first.subscribed;
    connections[0]!.ended = true;
    const second = notifications.listen('b');
    await second.subscribed;
    expect(connections).toHaveLength(1);
    first.close();
    second.close();
    // Let the UNSUBSCRIBEs settle: the channels are forgotten.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const third = notifications.listen('c');
    await third.subscribed;
    expect(connections).toHaveLength(2);
    expect(connections[1]!.log).toEqual(['subscribe c']);
    third.close();
  });
});
