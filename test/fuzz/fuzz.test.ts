import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzz, showCase, type FuzzReport, type KindReport } from './runner.js';

// A fixed-seed sample of `npm run fuzz` (which runs 100 000 cases with a fresh seed): the same properties, the
// same generators, a few hundred cases. A failure names the kind of violation and how to replay its first case.

const SEED = 20_260_101;
const RUNS = 600;

let report: FuzzReport;
const zone = process.env.TZ;

beforeAll(async () => {
  // A zone-less HTTP-date (asctime) must be read as UTC wherever the machine is.
  process.env.TZ = 'America/Los_Angeles';
  report = await fuzz({ runs: RUNS, seed: SEED, concurrency: 8, shrink: false });
}, 60_000);

afterAll(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

function failures(match: (kind: string) => boolean): string[] {
  return report.kinds
    .filter((k) => match(k.kind))
    .map((k: KindReport) => `${k.kind} — ${k.count} cases; replay: npm run fuzz -- --seed ${SEED} --path ${k.firstIndex}\n    ${k.first.violation.detail.slice(0, 300)}\n    ${showCase(k.first.case, 800)}`);
}

const is = (...prefixes: string[]) => (kind: string) => prefixes.some((p) => kind.startsWith(p) || kind.startsWith(`hostile dispatcher error object: ${p}`));

describe(`fuzz sample (seed ${SEED}, ${RUNS} cases)`, () => {
  it('ran every case, through the dispatcher, loopback and discovery paths', () => {
    expect(report.cases).toBe(RUNS);
    expect(report.mix.loopback ?? 0).toBeGreaterThan(0);
    expect(report.mix.discovery ?? 0).toBeGreaterThan(0);
    expect(report.mix.hang ?? 0).toBeGreaterThan(0);
    expect(report.outcomes.token ?? 0).toBeGreaterThan(0);
    expect(failures(is('the harness'))).toEqual([]);
  });

  it('every outcome is a Token or a TokenClientError with a documented code, never another throw', () => {
    expect(failures(is('getToken()', 'constructor', 'error code', 'error class', 'M2M_UNEXPECTED', 'callers of one request', 'token:'))).toEqual([]);
  });

  it('no secret, client assertion or token in any rendering of any error (or Token)', () => {
    expect(failures(is('leak:'))).toEqual([]);
  });

  it('nothing hangs past totalTimeout, and no dispatched request is left open', () => {
    expect(failures(is('getToken() did not settle', 'settled long after', 'a dispatched request'))).toEqual([]);
  });

  it('outcomes, attempts and retryAfter follow the README', () => {
    expect(failures(is('outcome:', 'attempts:', 'error.attempts', 'retryAfter:', 'discovery:'))).toEqual([]);
  });

  it('requests are well-formed: grant type, client authentication, endpoint, no credentials on discovery', () => {
    expect(failures(is('request:'))).toEqual([]);
  });

  it('every kind of violation is covered by one of the tests above', () => {
    const known = is('the harness', 'getToken()', 'constructor', 'error code', 'error class', 'M2M_UNEXPECTED', 'callers of one request', 'token:', 'leak:', 'settled long after', 'a dispatched request', 'outcome:', 'attempts:', 'error.attempts', 'retryAfter:', 'discovery:', 'request:');
    expect(failures((kind) => !known(kind))).toEqual([]);
  });
});
