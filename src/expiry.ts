import type { EpochMilliseconds, Milliseconds } from './types.js';

export interface ExpiryPolicy {
  /** Margin before `expiresAt` after which a token is no longer handed out. */
  leeway: Milliseconds;
  /** Window before that point in which a background refresh starts; 0 for none. */
  refreshAhead: Milliseconds;
}

export interface TokenSchedule {
  /** The token is handed out while `now < usableUntil`. */
  usableUntil: EpochMilliseconds;
  /** From this point (`≤ usableUntil`) a call starts a background refresh. */
  refreshAt: EpochMilliseconds;
}

/**
 * When a token stops being handed out and when its background refresh starts. The leeway is capped at half the
 * lifetime so short-lived tokens are still used; the refresh-ahead window at half of what remains. The refresh
 * point is random in the window's first half, so a fleet that got its tokens together does not refresh together.
 */
export function scheduleToken(
  token: { expiresAt: EpochMilliseconds; expiresIn: Milliseconds },
  policy: ExpiryPolicy,
  random: () => number = Math.random,
): TokenSchedule {
  const lifetime = Math.max(0, token.expiresIn);
  const usableUntil = token.expiresAt - Math.min(policy.leeway, lifetime / 2);
  const window = Math.min(policy.refreshAhead, (usableUntil - (token.expiresAt - lifetime)) / 2);
  const refreshAt = window > 0 ? usableUntil - window + random() * (window / 2) : usableUntil;
  return { usableUntil, refreshAt };
}
