/**
 * Runs many fuzz cases with fast-check: generation is fast-check's (so a failing case can be replayed by seed
 * and run index, and shrunk), execution is pipelined (a few cases in flight at once, so that cases waiting on a
 * timer do not hold the others up). Violations are grouped by kind; each kind is then shrunk to a small case.
 */
import fc from 'fast-check';
import { caseArb } from './arbitraries.js';
import type { FuzzCase } from './model.js';
import { runCase, type Violation } from './run-case.js';

export interface KindReport {
  kind: string;
  /** Cases that showed this kind of violation. */
  count: number;
  /** Run index of the first one (replay with the seed and `path`). */
  firstIndex: number;
  first: { case: FuzzCase; violation: Violation };
  shrunk?: { case: FuzzCase; violation: Violation; shrinks: number };
}

export interface FuzzReport {
  seed: number;
  cases: number;
  /** Cases with at least one violation. */
  failedCases: number;
  kinds: KindReport[];
  /** Outcomes seen (first caller): `token` or an error code; and transports, discovery and hang shares. */
  outcomes: Record<string, number>;
  mix: Record<string, number>;
  ms: number;
}

export interface FuzzOptions {
  runs: number;
  seed: number;
  concurrency?: number;
  /** Shrink each kind of violation to a small case (bounded by `shrinkMs` per kind, `shrinkTotalMs` in all). */
  shrink?: boolean;
  shrinkMs?: number;
  shrinkTotalMs?: number;
  onProgress?: (done: number, failed: number) => void;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { runs, seed, concurrency = 8, shrink = true, shrinkMs = 8_000, shrinkTotalMs = 120_000 } = options;
  const started = performance.now();
  const kinds = new Map<string, KindReport>();
  const outcomes: Record<string, number> = {};
  const mix: Record<string, number> = {};
  const bump = (o: Record<string, number>, key: string) => (o[key] = (o[key] ?? 0) + 1);
  let index = 0;
  let done = 0;
  let failedCases = 0;
  const pending = new Set<Promise<void>>();

  const record = (i: number, c: FuzzCase, violations: Violation[], outcome: string, modelled = false) => {
    done += 1;
    if (modelled) bump(mix, 'checked against the README oracle');
    bump(outcomes, outcome);
    bump(mix, c.transport);
    if (c.discovery) bump(mix, 'discovery');
    if (c.exchanges.some((e) => e.kind === 'hang')) bump(mix, 'hang');
    if (c.retries > 0) bump(mix, 'retries');
    if (c.secret.length < 4) bump(mix, 'short secret');
    if (violations.length > 0) failedCases += 1;
    const seen = new Set<string>();
    for (const violation of violations) {
      if (seen.has(violation.kind)) continue;
      seen.add(violation.kind);
      const known = kinds.get(violation.kind);
      if (known) {
        known.count += 1;
        if (i < known.firstIndex) Object.assign(known, { firstIndex: i, first: { case: c, violation } });
      } else kinds.set(violation.kind, { kind: violation.kind, count: 1, firstIndex: i, first: { case: c, violation } });
    }
    if (options.onProgress && done % 5000 === 0) options.onProgress(done, failedCases);
  };

  await fc.check(
    fc.asyncProperty(caseArb, async (c) => {
      const i = index++;
      const run = runCase(c).then(
        (result) => record(i, c, result.violations, result.outcome, result.modelled),
        (error: unknown) => record(i, c, [{ kind: 'the harness itself failed', detail: String((error as Error)?.stack ?? error) }], 'harness'),
      );
      pending.add(run);
      void run.finally(() => pending.delete(run));
      while (pending.size >= concurrency) await Promise.race(pending);
      return true;
    }),
    { seed, numRuns: runs },
  );
  await Promise.all(pending);

  const report: FuzzReport = { seed, cases: done, failedCases, kinds: [...kinds.values()].sort((a, b) => b.count - a.count), outcomes, mix, ms: 0 };
  const shrinkUntil = performance.now() + shrinkTotalMs;
  if (shrink) {
    for (const k of report.kinds) {
      const left = shrinkUntil - performance.now();
      if (left <= 0) break;
      k.shrunk = await shrinkKind(seed, k, Math.min(shrinkMs, left));
    }
  }
  report.ms = performance.now() - started;
  return report;
}

/** Replays the first case of a kind (same seed, its run index) and lets fast-check shrink it while the kind shows. */
export async function shrinkKind(seed: number, k: KindReport, ms: number): Promise<KindReport['shrunk']> {
  let last: { case: FuzzCase; violation: Violation } | undefined;
  const details = await fc.check(
    fc.asyncProperty(caseArb, async (c) => {
      const { violations } = await runCase(c);
      const violation = violations.find((v) => v.kind === k.kind);
      if (violation) last = { case: c, violation };
      return violation === undefined;
    }),
    { seed, path: String(k.firstIndex), interruptAfterTimeLimit: ms, markInterruptAsFailure: false },
  );
  const example = details.counterexample?.[0];
  if (!example || !last) return undefined;
  const violation = last.case === example ? last.violation : ((await runCase(example)).violations.find((v) => v.kind === k.kind) ?? last.violation);
  return { case: example, violation, shrinks: details.numShrinks };
}

/** A case as JSON, long strings cut (for reports; the full case is in the JSON report file). */
export function showCase(c: FuzzCase, max = 3000): string {
  const text = JSON.stringify(c, (_key, value: unknown) => (typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}…(${value.length} chars)` : value));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function formatReport(r: FuzzReport): string {
  const lines = [
    `fuzz: ${r.cases} cases, ${r.failedCases} failed, seed ${r.seed}, ${(r.ms / 1000).toFixed(1)} s`,
    `  outcomes: ${Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  mix: ${Object.entries(r.mix).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
  for (const k of r.kinds) {
    lines.push('', `✗ ${k.kind}  (${k.count} cases; first at run ${k.firstIndex}: replay with --seed ${r.seed} --path ${k.firstIndex})`);
    const example = k.shrunk ?? k.first;
    lines.push(`    ${k.shrunk ? `shrunk (${k.shrunk.shrinks} steps)` : 'first'}: ${example.violation.detail.slice(0, 600)}`);
    lines.push(`    case: ${showCase(example.case)}`);
  }
  return lines.join('\n');
}
