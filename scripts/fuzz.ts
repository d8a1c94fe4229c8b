/**
 * `npm run fuzz`: property-based fuzzing of token responses, headers, OAuth errors, dispatcher failures and
 * discovery documents through the public API. Prints the cases run and each kind of failure (shrunk), writes
 * the full report to .scratch/fuzz-report.json, and exits non-zero when any property failed.
 *
 *   npm run fuzz                          # 100 000 cases, a random seed (printed)
 *   npm run fuzz -- --runs 5000 --seed 42
 *   npm run fuzz -- --seed 42 --path 1234 # replay run 1234 of seed 42 and shrink it
 *   npm run fuzz -- --no-shrink --concurrency 4
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, fuzz, shrinkKind, showCase } from '../test/fuzz/runner.js';
import { runCase } from '../test/fuzz/run-case.js';
import fc from 'fast-check';
import { caseArb } from '../test/fuzz/arbitraries.js';

// Dates without a zone (asctime) must be read as UTC whatever the machine's zone: run where that shows.
process.env.TZ = 'America/Los_Angeles';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    path: { type: 'string' },
    'no-shrink': { type: 'boolean', default: false },
    'shrink-ms': { type: 'string', default: '8000' },
    'shrink-total-ms': { type: 'string', default: '120000' },
  },
});

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled += 1;
  console.error('unhandled rejection:', reason);
});

const seed = values.seed === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0 : Number(values.seed);

if (values.path !== undefined) {
  // Replay one case, print its violations, then shrink each.
  const index = Number(values.path);
  const [c] = fc.sample(caseArb, { seed, numRuns: index + 1 }).slice(index);
  const { violations } = await runCase(c!);
  console.log(`run ${index} of seed ${seed}: ${violations.length} violations\n  case: ${showCase(c!)}`);
  for (const v of violations) {
    console.log(`\n✗ ${v.kind}\n    ${v.detail}`);
    const shrunk = await shrinkKind(seed, { kind: v.kind, count: 1, firstIndex: index, first: { case: c!, violation: v } }, Number(values['shrink-ms']));
    if (shrunk) console.log(`    shrunk (${shrunk.shrinks} steps): ${shrunk.violation.detail}\n    case: ${showCase(shrunk.case)}`);
  }
  process.exitCode = violations.length > 0 ? 1 : 0;
} else {
  const runs = Number(values.runs);
  console.log(`fuzz: ${runs} cases, seed ${seed}, concurrency ${values.concurrency}`);
  const report = await fuzz({
    runs,
    seed,
    concurrency: Number(values.concurrency),
    shrink: !values['no-shrink'],
    shrinkMs: Number(values['shrink-ms']),
    shrinkTotalMs: Number(values['shrink-total-ms']),
    onProgress: (done, failed) => console.log(`  ${done} cases, ${failed} failed`),
  });
  console.log(formatReport(report));
  if (unhandled > 0) console.log(`✗ ${unhandled} unhandled rejections`);
  mkdirSync('.scratch', { recursive: true });
  writeFileSync('.scratch/fuzz-report.json', JSON.stringify(report, null, 2));
  console.log(`\nfull report: .scratch/fuzz-report.json\nRESULT: ${report.cases} cases, ${report.failedCases} failed, ${report.kinds.length} kinds of failure, ${(report.ms / 1000).toFixed(1)} s`);
  process.exitCode = report.failedCases > 0 || unhandled > 0 ? 1 : 0;
}
