// Mutation testing: one Stryker run per group of stryker.config.mjs (core, adapters, redis, testing, opentelemetry,
// cli), then one table of the score per file over all the groups' reports. Run through npm, so that everything runs on Node 24:
//
//   npm run mutate                      every group (slow: see docs/mutation.md)
//   npm run mutate -- core redis        some groups
//   npm run mutate:changed              only the src/ files changed since main (committed, staged, unstaged or new),
//                                       incrementally: mutants whose code and tests did not change keep their result
//   npm run mutate -- --static          also the static mutants (module-level constants), which take much longer
//   npm run mutate -- --table           only print the table of the last reports
//   npm run mutate -- --survivors       print the surviving mutants of the last reports as rows for docs/mutation.md
//
// The table has two scores: Stryker's, and one that leaves out the survivors docs/mutation.md lists under rule W
// (message wording) or M (memo performance): the goals (90 % core, 80 % entries) are set on the second.
// Reports: .scratch/mutation/<group>/index.html (and mutation.json, incremental.json).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { GROUPS } from '../stryker.config.mjs';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const unknownFlags = [...flags].filter((f) => !['--changed', '--static', '--table', '--incremental', '--survivors'].includes(f));
const named = args.filter((a) => !a.startsWith('--'));
const unknownGroups = named.filter((g) => !(g in GROUPS));
if (unknownFlags.length || unknownGroups.length) {
  console.error(`unknown ${[...unknownFlags, ...unknownGroups].join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}; flags: --changed, --static, --incremental, --table, --survivors`);
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
if (!flags.has('--table') && !flags.has('--survivors')) {
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

// The code a mutant replaced, on one line: with the mutator and the replacement, what docs/mutation.md rows match.
const squash = (text) => text.replace(/\s+/g, ' ').trim();
function original(source, { start, end }) {
  const lines = source.split('\n');
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1);
  return [lines[start.line - 1].slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1].slice(0, end.column - 1)].join('\n');
}
const cell = (text, max = 70) => {
  const t = squash(text);
  return (t.length > max ? `${t.slice(0, max - 1)}…` : t).replace(/\|/g, '\\|');
};
const keyOf = (file, mutator, orig, replacement) => [file, mutator, cell(orig), cell(replacement)].join('\t');

/** Rows of docs/mutation.md: | file | line | mutator | original | replacement | rule | why | */
function documented() {
  const rows = new Map();
  if (!existsSync('docs/mutation.md')) return rows;
  for (const line of readFileSync('docs/mutation.md', 'utf8').split('\n')) {
    if (!line.startsWith('| src/')) continue;
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
    const [file, , mutator, orig, replacement, rule] = cells;
    const unquote = (c) => c.replace(/^`|`$/g, '');
    rows.set([file, mutator, unquote(orig), unquote(replacement)].join('\t'), rule);
  }
  return rows;
}

// One table over the last report of every group.
const docs = documented();
const rows = [];
const survivors = [];
// Every report folder (a group's, or a part's: see M2M_MUTATE_PART in stryker.config.mjs); each file from the newest
// report that has it.
const reports = existsSync('.scratch/mutation')
  ? readdirSync('.scratch/mutation')
      .map((dir) => ({ dir, file: `.scratch/mutation/${dir}/mutation.json` }))
      .filter(({ dir, file }) => existsSync(file) && Object.keys(GROUPS).includes(dir.split('-')[0]))
      .map((r) => ({ ...r, time: statSync(r.file).mtimeMs }))
      .sort((a, b) => b.time - a.time)
  : [];
const seen = new Set();
for (const { dir, file, time } of reports) {
  const name = dir.split('-')[0];
  const when = new Date(time).toISOString().slice(0, 16).replace('T', ' ');
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const [path, { source, mutants }] of Object.entries(report.files)) {
    if (seen.has(path)) continue;
    seen.add(path);
    const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
    const killed = count('Killed', 'Timeout');
    const live = mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
    let excused = 0;
    for (const m of live.sort((a, b) => a.location.start.line - b.location.start.line)) {
      const orig = original(source, m.location);
      const rule = docs.get(keyOf(path, m.mutatorName, orig, m.replacement ?? ''));
      if (rule === 'W' || rule === 'M') excused += 1;
      survivors.push({ path, m, orig, rule });
    }
    const survived = live.length;
    const ignored = count('Ignored');
    const score = killed + survived ? (100 * killed) / (killed + survived) : 100;
    const adjusted = killed + survived - excused ? (100 * killed) / (killed + survived - excused) : 100;
    rows.push({ group: name, path, killed, survived, excused, ignored, score, adjusted, when });
  }
}
if (flags.has('--survivors')) {
  const lines = ['| file | line | mutator | original | replacement | rule | why |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const { path, m, orig, rule } of survivors) {
    lines.push(`| ${path} | ${m.location.start.line} | ${m.mutatorName} | \`${cell(orig)}\` | \`${cell(m.replacement ?? '')}\` | ${rule ?? '?'} | ${m.status === 'NoCoverage' ? 'no test covers it' : ''} |`);
  }
  // One write, and exit once it is flushed: process.exit() right after many console.log calls cuts a piped output short.
  process.stdout.write(`${lines.join('\n')}\n`, () => process.exit(0));
} else {
  if (rows.length) {
    rows.sort((a, b) => a.path.localeCompare(b.path));
    const width = Math.max(...rows.map((r) => r.path.length));
    const pad = (v, n) => String(v).padStart(n);
    // The group column as wide as its longest name (opentelemetry).
    const gw = Math.max(8, ...rows.map((r) => r.group.length));
    console.log(`\n${'file'.padEnd(width)}  ${'group'.padEnd(gw)}  score  excl. W/M  killed  survived  W/M  ignored  run (UTC)`);
    for (const r of rows) {
      console.log(`${r.path.padEnd(width)}  ${r.group.padEnd(gw)} ${pad(r.score.toFixed(1), 6)}  ${pad(r.adjusted.toFixed(1), 9)}  ${pad(r.killed, 6)}  ${pad(r.survived, 8)}  ${pad(r.excused, 3)}  ${pad(r.ignored, 7)}  ${r.when}`);
    }
    // One line per group: its files together, the score the entry goals (80 %) are set on.
    for (const group of [...new Set(rows.map((r) => r.group))].sort()) {
      const mine = rows.filter((r) => r.group === group);
      const k = mine.reduce((s, r) => s + r.killed, 0);
      const sv = mine.reduce((s, r) => s + r.survived, 0);
      const ex = mine.reduce((s, r) => s + r.excused, 0);
      console.log(`${`(${group})`.padEnd(width)}  ${''.padEnd(gw)} ${pad(((100 * k) / (k + sv || 1)).toFixed(1), 6)}  ${pad(((100 * k) / (k + sv - ex || 1)).toFixed(1), 9)}  ${pad(k, 6)}  ${pad(sv, 8)}  ${pad(ex, 3)}`);
    }
    const sum = (f) => rows.reduce((s, r) => s + r[f], 0);
    const k = sum('killed');
    const sv = sum('survived');
    const ex = sum('excused');
    console.log(`${'all'.padEnd(width)}  ${''.padEnd(gw)} ${pad(((100 * k) / (k + sv || 1)).toFixed(1), 6)}  ${pad(((100 * k) / (k + sv - ex || 1)).toFixed(1), 9)}  ${pad(k, 6)}  ${pad(sv, 8)}  ${pad(ex, 3)}`);
    console.log('score: killed (or timed out) / (killed + survived + not covered); excl. W/M leaves out the survivors docs/mutation.md lists under rules W and M; run: when the report the row comes from was written.');
  }
  process.exit(failed ? 1 : 0);
}
