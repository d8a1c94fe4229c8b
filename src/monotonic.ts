/**
 * Milliseconds on a clock that never steps (for deadlines, backoff, elapsed times): process.hrtime, not
 * performance.now(), because the first use of the `performance` global loads node:perf_hooks, about 3 ms of a
 * serverless cold start that a token request does not need. Values are only compared with each other.
 */
export function monotonicNow(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
