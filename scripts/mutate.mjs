// Mutation testing: one Stryker run per group of stryker.config.mjs (core, adapters, redis, testing), then one
// table of the score per file over all the groups' reports. Run through npm, so that everything runs on Node 24:
//
//   npm run mutate                      every group (slow: see docs/mutation.md)
//   npm run mutate -- core redis        some groups
//   npm run mutate:changed              only the src/ files changed since main (committed, staged, unstaged or new),
//                                       incrementally: mutants whose code and tests did not change keep their result
//   npm run mutate -- --static          also the static mutants (module-level constants), which take much longer
//   npm run mutate -- --table           only print the table of the last reports
//
// Reports: .scratch/mutation/<group>/index.html (and mutation.json, incremental.json).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { GROUPS } from '../stryker.config.mjs';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const unknownFlags = [...flags].filter((f) => !['--changed', '--static', '--table', '--incremental'].includes(f));
const named = args.filter((a) => !a.startsWith('--'));
const unknownGroups = named.filter((g) => !(g in GROUPS));
if (unknownFlags.length || unknownGroups.length) {
  console.error(`unknown ${[...unknownFlags, ...unknownGroups].join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}; flags: --changed, --static, --incremental, --table`);
  process.exit(2);
}
const groups = named.length ? named : Object.keys(GROUPS);

/** src/ files changed since main: committed on this branch, staged, unstaged or untracked. */
function changedFiles() {
  const git = (...a) => spawnSync('git', a, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const base = git('merge-base', 'HEAD', 'main')[0] ?? 'HEAD';
  const files = new Set([...git('diff', '--name-only', base), ...git('ls-files', '--others', '--exclude-standard')]);
  return [...files].filter((f) => /^src\/.*\.ts$/.test(f) && existsSync(f));
}

/** Does `file` belong to the group (its mutate globs, exclusions included)? */
function inGroup(file, group) {
  const match = (glob) => path(glob).test(file);
  const path = (glob) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*')}$`);
  return group.mutate.some((g) => !g.startsWith('!') && match(g)) && !group.mutate.some((g) => g.startsWith('!') && match(g.slice(1)));
}

let failed = false;
if (!flags.has('--table')) {
  const changed = flags.has('--changed') ? changedFiles() : undefined;
  if (changed?.length === 0) console.log('mutate: no src/ file changed since main.');
  for (const name of groups) {
    const mutate = changed?.filter((f) => inGroup(f, GROUPS[name]));
    if (mutate?.length === 0) continue;
    const strykerArgs = ['run', ...(mutate ? ['--mutate', mutate.join(',')] : [])];
    if (changed || flags.has('--incremental')) strykerArgs.push('--incremental');
    console.log(`\n=== mutate ${name}: ${mutate ? mutate.join(', ') : GROUPS[name].mutate.filter((g) => !g.startsWith('!')).join(', ')}`);
    const started = Date.now();
    const run = spawnSync('stryker', strykerArgs, {
      stdio: 'inherit',
      env: { ...process.env, M2M_MUTATE_GROUP: name, ...(flags.has('--static') ? { M2M_MUTATE_STATIC: '1' } : {}) },
    });
    console.log(`=== ${name}: ${((Date.now() - started) / 60_000).toFixed(1)} min`);
    if (run.status !== 0) failed = true;
  }
}

// One table over the last report of every group.
const rows = [];
for (const name of Object.keys(GROUPS)) {
  const file = `.scratch/mutation/${name}/mutation.json`;
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const [path, { mutants }] of Object.entries(report.files)) {
    const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
    const killed = count('Killed', 'Timeout');
    const survived = count('Survived', 'NoCoverage');
    const ignored = count('Ignored');
    const errors = count('CompileError', 'RuntimeError');
    rows.push({ group: name, path, killed, survived, ignored, errors, score: killed + survived ? (100 * killed) / (killed + survived) : 100 });
  }
}
if (rows.length) {
  rows.sort((a, b) => a.path.localeCompare(b.path));
  const width = Math.max(...rows.map((r) => r.path.length));
  console.log(`\n${'file'.padEnd(width)}  group     score  killed  survived  ignored`);
  for (const r of rows) {
    console.log(`${r.path.padEnd(width)}  ${r.group.padEnd(8)} ${r.score.toFixed(1).padStart(6)}  ${String(r.killed).padStart(6)}  ${String(r.survived).padStart(8)}  ${String(r.ignored).padStart(7)}`);
  }
  const k = rows.reduce((s, r) => s + r.killed, 0);
  const sv = rows.reduce((s, r) => s + r.survived, 0);
  console.log(`${'all'.padEnd(width)}  ${''.padEnd(8)} ${((100 * k) / (k + sv || 1)).toFixed(1).padStart(6)}  ${String(k).padStart(6)}  ${String(sv).padStart(8)}`);
  console.log('(score = killed or timed out / (those + survived + not covered); see docs/mutation.md for the survivors)');
}
process.exit(failed ? 1 : 0);
