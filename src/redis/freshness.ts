/** What this process knows about one entry: the issue time of the newest value it has seen or written. */
interface Seen {
  at: number;
  /** After a delete (invalidate()): a value issued at `at` is the one dropped; only a newer one will do. */
  strict: boolean;
}

/** Entries remembered; the oldest is forgotten past this (a client rarely has more than a few keys). */
const MAX_ENTRIES = 10_000;

/**
 * The newest value this process has seen per entry, so it never goes back to an older one: not to a value an
 * attacker with write access to Redis re-writes after it was replaced, nor to the very value that invalidate()
 * dropped. Issue times are the writers' clocks (each writer keeps its own increasing, see {@link issueTime}).
 */
export class Freshness {
  readonly #seen = new Map<string, Seen>();

  /** Whether a value issued at `at` may be used: not older than the newest seen, nor the one dropped. */
  accepts(id: string, at: number): boolean {
    const seen = this.#seen.get(id);
    return seen === undefined || (seen.strict ? at > seen.at : at >= seen.at);
  }

  /** Records a value issued at `at` as used. */
  saw(id: string, at: number): void {
    const seen = this.#seen.get(id);
    if (seen !== undefined && (seen.strict ? at <= seen.at : at < seen.at)) return;
    this.#remember(id, { at, strict: false });
  }

  /** The entry was deleted: the newest value seen so far, and all older ones, are not used again. */
  dropped(id: string): void {
    const seen = this.#seen.get(id);
    if (seen !== undefined) this.#remember(id, { at: seen.at, strict: true });
  }

  /** The issue time for a value this process writes now: its clock, but always after everything it has seen. */
  issueTime(id: string, now: number): number {
    const seen = this.#seen.get(id);
    return seen === undefined ? now : Math.max(now, seen.at + 1);
  }

  #remember(id: string, seen: Seen): void {
    this.#seen.delete(id);
    if (this.#seen.size >= MAX_ENTRIES) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(id, seen);
  }
}
