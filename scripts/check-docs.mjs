// Checks the code and the links in README.md and docs/**/*.md against the packed package.
// Run with `npm run check:docs` (Node 24 via npm). DEVELOPERS.md ("Checking the docs") explains the markers.
//
// 1. Extracts every ```ts / ```typescript block, with the `<!-- check: … -->` markers right above it.
// 2. Builds and packs the package, and installs the tarball with the peers the blocks import (pinned) into
//    .scratch/check-docs/consumer, so `import … from 'm2m-token'` is the tarball, never src/.
// 3. Writes each block as its own module there and type-checks them all with tsc (strict, nodenext).
// 4. Runs the blocks marked `run` against the demo servers (demo/), test files with their own runner.
// 5. Checks the links: a relative link in README.md must point into the tarball (else make it absolute), a link to
//    this repository on GitHub must name a file that exists, and a #fragment must name a heading.
// Prints one line per block (ok / FAIL / skip) and a summary; exits 1 when anything failed.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, posix, relative, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL, URL } from 'node:url';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const scratch = join(root, '.scratch', 'check-docs');
const consumer = join(scratch, 'consumer');
const blocksDir = join(consumer, 'blocks');
const runDir = join(consumer, 'run');
const REPOSITORY = 'https://github.com/m2m-token/m2m-token';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const RUN_TIMEOUT = 90_000;
const started = performance.now();

// ---------------------------------------------------------------------------------------------------------------
// What a fragment may assume (`<!-- check: uses client, targets -->`). Types for the type check; in runs, the values
// are set up by run/_setup.ts and point at the demo servers.
const NAMES = {
  client: 'TokenClient',
  targets: 'Record<string, TokenTarget>',
  domain: 'string',
  clientId: 'string',
  clientSecret: 'string',
  audience: 'string',
  issuer: 'string',
  tokenEndpoint: 'string',
  log: '{ info(data: object, message?: string): void; warn(data: object, message?: string): void; error(data: object, message?: string): void }',
  redis: "ReturnType<typeof createClient>", // a connected node-redis client
};

// Libraries that a block plugs m2m-token into: the reader brings them, so an install line need not name them.
const READERS_OWN = new Set(['axios', 'undici', 'ky', 'got', 'ioredis', 'redis', 'vitest']);

// Placeholder origins in the docs, and which demo server a run sends them to.
const PLACEHOLDERS = { 'https://billing.internal': 'billing', 'https://reports.internal': 'reports' };

// The consumer's dependencies, pinned: the versions this repository tests with, and three that only the docs use.
const installed = (name, fallback) => {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch (error) {
    if (fallback) return fallback;
    throw new Error(`check:docs pins ${name} to the repository's installed version, but it is not installed: run npm ci first`, { cause: error });
  }
};
const CONSUMER_DEPENDENCIES = {
  ...Object.fromEntries(
    ['axios', 'ioredis', 'msw', '@mswjs/interceptors', 'jose', 'vitest', 'vite', '@types/node', 'tsx', '@opentelemetry/api', '@opentelemetry/sdk-metrics', '@opentelemetry/sdk-trace'].map(
      (name) => [name, installed(name)],
    ),
  ),
  undici: installed('undici', '8.13.1'),
  ky: '2.1.0',
  got: '16.1.0',
  redis: '6.3.1',
};

// ---------------------------------------------------------------------------------------------------------------
// Markdown: fenced blocks, markers, headings, links.

const problems = []; // { where, message }: problems outside any block (links, tsc itself); each fails the check
/** Records a problem: on its block when there is one (the block's line then says FAIL), else in `problems`. */
const problem = (where, message, block) => (block ? block.problems.push(`${where}: ${message}`) : problems.push({ where, message }));

function markdownFiles() {
  const files = ['README.md'];
  const walk = (dir) => {
    if (!existsSync(join(root, dir))) return;
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function slugger() {
  const seen = new Map();
  return (heading) => {
    const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const base = text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
}

function parseMarkdown(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks = [];
  const links = [];
  const anchors = new Set();
  const slug = slugger();
  let heading = '';
  let install; // the last `npm install` line in this ## section: { line, packages }
  let fence = null;
  let markers = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1][0] === fence.char && close[1].length >= fence.length) {
        if (fence.block) blocks.push(fence.block);
        fence = null;
      } else if (fence.shell) {
        const npm = /^\s*(?:\$\s*)?npm\s+(?:install|i|add)\s+(.*)$/.exec(line);
        if (npm) {
          const packages = npm[1].split(/\s+/).filter((w) => w && !w.startsWith('-')).map((w) => w.replace(/(.)@.*$/, '$1'));
          install = { line: lineNo, packages: new Set(packages) };
        }
      } else if (fence.block) {
        fence.block.lines.push(line.startsWith(fence.indent) ? line.slice(fence.indent.length) : line.trimStart());
      }
      continue;
    }
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (open) {
      const lang = open[3].toLowerCase();
      const isTs = lang === 'ts' || lang === 'typescript';
      if (markers.length && !isTs) problem(`${file}:${markers[0].line}`, `a check marker must be right above a \`\`\`ts block, not a \`\`\`${lang} one`);
      fence = {
        char: open[2][0],
        length: open[2].length,
        indent: open[1],
        block: isTs ? { file, line: lineNo, heading, markers, install, lines: [], problems: [] } : null,
        shell: ['sh', 'bash', 'shell', 'console'].includes(lang),
      };
      markers = [];
      continue;
    }
    const marker = /^\s*<!--\s*check:(.*?)-->\s*$/.exec(line);
    if (marker) {
      markers.push({ line: lineNo, text: marker[1].trim() });
      continue;
    }
    if (/<!--\s*check\b/.test(line)) problem(`${file}:${lineNo}`, 'a check marker must be alone on its line: <!-- check: … -->');
    if (markers.length) {
      problem(`${file}:${markers[0].line}`, 'this check marker is not right above a ```ts block');
      markers = [];
    }
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      heading = h[1].replace(/`/g, '');
      if (/^ {0,3}##?\s/.test(line)) install = undefined;
      anchors.add(slug(h[1]));
    }
    for (const m of line.matchAll(/<a\s[^>]*\b(?:name|id)="([^"]+)"/g)) anchors.add(m[1]);
    const prose = line.replace(/(`+)[^`]*?\1/g, '');
    for (const m of prose.matchAll(/(!?)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line: lineNo, url: m[2], image: m[1] === '!' });
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(prose);
    if (definition) links.push({ line: lineNo, url: definition[1] });
    for (const m of prose.matchAll(/<(a|img)\s[^>]*\b(?:href|src)="([^"]+)"/g)) links.push({ line: lineNo, url: m[2], image: m[1] === 'img' });
  }
  if (fence) problem(`${file}:${fence.block?.line ?? lines.length}`, 'unclosed code fence');
  if (markers.length) problem(`${file}:${markers[0].line}`, 'this check marker is not right above a ```ts block');
  for (const block of blocks) parseDirectives(block);
  return { file, blocks, links, anchors };
}

/** `<!-- check: skip (reason: …) -->`, `uses a, b`, `continues`, `run`, `mirrors ENTRY`; `;` separates several. */
function parseDirectives(block) {
  const where = `${block.file}:${block.line}`;
  block.uses = [];
  for (const marker of block.markers) {
    for (const directive of marker.text.split(';').map((d) => d.trim()).filter(Boolean)) {
      let m;
      if ((m = /^skip\b\s*(.*)$/s.exec(directive))) {
        const reason = /^\(\s*reason:\s*(.*\S)\s*\)$/s.exec(m[1]);
        if (!reason) problem(where, 'a skip marker needs a visible reason: <!-- check: skip (reason: …) -->', block);
        block.skip = reason?.[1] ?? '(no reason given)';
      } else if ((m = /^uses\s+(.+)$/.exec(directive))) {
        for (const name of m[1].split(',').map((n) => n.trim()).filter(Boolean)) {
          if (!(name in NAMES)) problem(where, `uses: unknown name '${name}'; the names a block may use are: ${Object.keys(NAMES).join(', ')}`, block);
          else if (!block.uses.includes(name)) block.uses.push(name);
        }
      } else if (directive === 'continues') block.continues = true;
      else if (directive === 'run') block.run = true;
      else if ((m = /^mirrors\s+(m2m-token(?:\/[\w-]+)?)$/.exec(directive))) block.mirrors = m[1];
      else problem(where, `unknown check marker '${directive}' (known: skip (reason: …), uses NAME, continues, run, mirrors ENTRY)`, block);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small process helpers.

const childEnv = (extra = {}) => ({
  ...process.env,
  // Children run on this Node (24): `node` on PATH is the devDependency's, as under npm scripts.
  PATH: [dirname(process.execPath), process.env.PATH].join(delimiter),
  ...extra,
});

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Runs a setup command; its output is shown, except what `capture` asks for (returned). */
function step(cmd, args, { cwd = root, capture = false } = {}) {
  const start = performance.now();
  const out = execFileSync(cmd, args, { cwd, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], env: childEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  console.log(`$ ${cmd} ${args.join(' ')}  (${seconds(start)})`);
  return out;
}

/** Runs a command without blocking the event loop (the demo servers live in this process). */
function runAsync(cmd, args, { cwd, env, timeout = RUN_TIMEOUT }) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const timer = globalThis.setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL'); // the child's own process group: only what this run started
      } catch {
        // already gone
      }
    }, timeout);
    child.on('close', (code, signal) => {
      globalThis.clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut });
    });
    child.on('error', (error) => {
      globalThis.clearTimeout(timer);
      resolveRun({ code: null, signal: null, stdout, stderr: `${stderr}\n${error.message}`, timedOut });
    });
  });
}

function findExecutable(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

const indent = (text, prefix = '        ') => text.trimEnd().split('\n').map((l) => prefix + l).join('\n');
const tail = (text, n = 40) => text.trimEnd().split('\n').slice(-n).join('\n');

// ---------------------------------------------------------------------------------------------------------------
// 1. The docs.

const docs = markdownFiles().map(parseMarkdown);
const allBlocks = docs.flatMap((d) => d.blocks);
console.log(`check:docs: ${allBlocks.length} TypeScript blocks in ${docs.map((d) => d.file).join(', ')}${docs.length === 1 ? ' (docs/ has no guides yet)' : ''}`);

// Units: one module per block, or per chain of blocks joined by `continues`.
const units = [];
for (const doc of docs) {
  let previous;
  for (const block of doc.blocks) {
    if (block.continues) {
      if (!previous) problem(`${block.file}:${block.line}`, 'continues: there is no TypeScript block before this one', block);
      else if (previous.skip) problem(`${block.file}:${block.line}`, 'continues: the block before this one is skipped', block);
      else if (block.skip) problem(`${block.file}:${block.line}`, 'a skipped block cannot continue another', block);
      else {
        previous.unit.blocks.push(block);
        block.unit = previous.unit;
        previous = block;
        continue;
      }
    }
    if (!block.skip) {
      block.unit = { blocks: [block] };
      units.push(block.unit);
    }
    previous = block;
  }
}
for (const unit of units) {
  const first = unit.blocks[0];
  unit.name = `${first.file.replace(/\.md$/, '').replace(/[^\w]+/g, '-')}-L${first.line}`;
  unit.code = unit.blocks.map((b) => b.lines.join('\n')).join('\n');
  unit.uses = [...new Set(unit.blocks.flatMap((b) => b.uses))];
  unit.run = unit.blocks.some((b) => b.run);
  unit.runner = /from\s+['"]vitest['"]/.test(unit.code) ? 'vitest' : /from\s+['"]node:test['"]/.test(unit.code) ? 'node:test' : 'tsx';
  unit.needsRedis = /from\s+['"](ioredis|redis)['"]/.test(unit.code) || unit.uses.includes('redis');
  unit.fileName = `${unit.name}${unit.runner === 'vitest' ? '.test' : unit.runner === 'node:test' ? '.node-test' : ''}.ts`;
}

// A block after an `npm install` line in its section imports only what that line installs (or Node, m2m-token and
// the libraries in READERS_OWN): a reader who pastes the line and then the block has every package.
for (const block of allBlocks.filter((b) => b.install && !b.skip)) {
  const code = block.lines.join('\n');
  for (const [, specifier] of code.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
    if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
    const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
    if (name === 'm2m-token' || READERS_OWN.has(name) || block.install.packages.has(name)) continue;
    problem(`${block.file}:${block.line}`, `the block imports ${name}, which the install line at ${block.file}:${block.install.line} does not install`, block);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Build, pack, install the tarball into the consumer.

rmSync(scratch, { recursive: true, force: true });
mkdirSync(blocksDir, { recursive: true });
mkdirSync(runDir, { recursive: true });
step('npm', ['run', 'build', '--silent'], { capture: true }); // tsup's file list is noise here; errors go to stderr
const packed = JSON.parse(step('npm', ['pack', '--json', '--pack-destination', scratch, '--silent'], { capture: true }))[0];
const tarball = join(scratch, packed.filename);
const tarballFiles = new Set(packed.files.map((f) => f.path));

writeFileSync(
  join(consumer, 'package.json'),
  `${JSON.stringify(
    {
      name: 'check-docs-consumer',
      private: true,
      version: '0.0.0',
      type: 'module',
      dependencies: { 'm2m-token': `file:${relative(consumer, tarball)}`, ...CONSUMER_DEPENDENCIES },
      allowScripts: { esbuild: true },
    },
    null,
    2,
  )}\n`,
);
step('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: consumer });

const compilerOptions = {
  target: 'ES2023',
  lib: ['ES2023'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  skipLibCheck: true, // the package's own types are checked by attw/publint (check:package) and by tsc on src/
  isolatedModules: true,
  noEmit: true,
  types: ['node'],
};
writeFileSync(join(consumer, 'tsconfig.json'), `${JSON.stringify({ compilerOptions, include: ['blocks/**/*.ts'] }, null, 2)}\n`);
writeFileSync(join(consumer, 'vitest.config.mjs'), "export default { test: { include: ['run/**/*.test.ts'], testTimeout: 20_000 } };\n");

// ---------------------------------------------------------------------------------------------------------------
// 3. Write the modules and type-check them.

/** The exported names of a package entry, read from the packed types. */
const exportCache = new Map();
function exportsOf(entry) {
  if (!exportCache.has(entry)) {
    const probe = join(consumer, `_probe-${exportCache.size}.ts`);
    writeFileSync(probe, `export * from '${entry}';\n`);
    const options = ts.convertCompilerOptionsFromJson(compilerOptions, consumer).options;
    const program = ts.createProgram([probe], options);
    const checker = program.getTypeChecker();
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(probe));
    exportCache.set(entry, new Set(symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : []));
    rmSync(probe);
  }
  return exportCache.get(entry);
}

/** Lines that assert each interface or type a `mirrors` block declares is identical to the package's export. */
function mirrorChecks(block) {
  const entry = block.mirrors;
  const code = block.lines.join('\n');
  const exported = exportsOf(entry);
  const declared = [...code.matchAll(/\b(?:interface|type)\s+([A-Za-z_$][\w$]*)\s*(<)?/g)];
  const lines = [];
  if (declared.length === 0) problem(`${block.file}:${block.line}`, `mirrors ${entry}: the block declares no interface or type`, block);
  const declaredNames = new Set(declared.map((d) => d[1]));
  const free = [...new Set(code.match(/\b[A-Za-z_$][\w$]*\b/g))].filter((id) => exported.has(id) && !declaredNames.has(id));
  if (free.length) lines.push(`import type { ${free.join(', ')} } from '${entry}';`);
  lines.push(`import type * as __Real from '${entry}';`);
  lines.push('type __Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;');
  for (const [, name, generic] of declared) {
    if (!exported.has(name)) {
      problem(`${block.file}:${block.line}`, `mirrors ${entry}: ${name} is not exported by ${entry}`, block);
      continue;
    }
    if (generic) {
      problem(`${block.file}:${block.line}`, `mirrors ${entry}: ${name} is generic, which the check does not compare`, block);
      continue;
    }
    const real = `__Real.${name}`;
    lines.push(
      `const README_${name}_lacks_members_of_the_real_one: [Exclude<keyof ${real}, keyof ${name}>] extends [never] ? true : Exclude<keyof ${real}, keyof ${name}> = true;`,
      `const README_${name}_has_members_the_real_one_lacks: [Exclude<keyof ${name}, keyof ${real}>] extends [never] ? true : Exclude<keyof ${name}, keyof ${real}> = true;`,
      `const README_${name}_differs_from_the_real_one_in_a_member_type_or_optionality: __Same<${name}, ${real}> = true;`,
    );
  }
  return lines;
}

const namesHeader = (uses) =>
  uses.length
    ? `import type { DocsNames as __DocsNames } from './_names.js'; const { ${uses.join(', ')} } = (globalThis as unknown as { __m2mDocs: __DocsNames }).__m2mDocs;`
    : '// (no names assumed)';

writeFileSync(
  join(blocksDir, '_names.ts'),
  `// The names a fragment may assume (<!-- check: uses … -->). Generated by scripts/check-docs.mjs.
import type { TokenClient } from 'm2m-token';
import type { TokenTarget } from 'm2m-token/fetch';
import type { createClient } from 'redis';
export interface DocsNames {
${Object.entries(NAMES).map(([name, type]) => `  ${name}: ${type};`).join('\n')}
}
`,
);

for (const unit of units) {
  // origin[k]: the Markdown line of generated line k + 1 (undefined for generated lines), and its block.
  const out = [namesHeader(unit.uses)];
  unit.origin = [{ block: unit.blocks[0] }];
  for (const block of unit.blocks) {
    block.lines.forEach((line, k) => {
      out.push(line);
      unit.origin.push({ block, mdLine: block.line + 1 + k });
    });
    if (block.mirrors) {
      for (const line of mirrorChecks(block)) {
        out.push(line);
        unit.origin.push({ block });
      }
    }
  }
  out.push('export {};');
  unit.origin.push({ block: unit.blocks.at(-1) });
  unit.source = out;
  writeFileSync(join(blocksDir, unit.fileName), `${out.join('\n')}\n`);
}

const tscArgs = [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--pretty', 'false', '--listFiles'];
const tscStart = performance.now();
const tsc = await runAsync(process.execPath, tscArgs, { cwd: consumer, env: childEnv(), timeout: 120_000 });
console.log(`$ tsc -p ${relative(root, join(consumer, 'tsconfig.json'))}: ${units.length} modules  (${seconds(tscStart)})`);
const tscOutput = `${tsc.stdout}${tsc.stderr}`;
const listed = tscOutput.split('\n').filter((l) => l.startsWith('/'));
// The type check must see the tarball, never the sources (the repository's tsconfig maps m2m-token to src/).
const packedTypes = join(consumer, 'node_modules', 'm2m-token', 'dist', 'index.d.ts');
if (!listed.includes(packedTypes)) problem('tsc', `the type check did not load the packed types (${relative(root, packedTypes)})`);
for (const file of listed.filter((f) => f.startsWith(join(root, 'src')))) problem('tsc', `the type check loaded ${relative(root, file)} from the repository`);

const diagnostics = [];
let current;
for (const line of tscOutput.split('\n')) {
  const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
  if (m) diagnostics.push((current = { file: resolve(consumer, m[1]), line: Number(m[2]), col: Number(m[3]), code: m[4], message: m[5] }));
  else if (current && /^\s+\S/.test(line)) current.message += `\n${line.trim()}`;
  else if (/error TS\d+/.test(line)) diagnostics.push((current = { file: '', line: 0, message: line }));
  else current = undefined;
}
for (const block of allBlocks) block.errors = [];
for (const d of diagnostics) {
  const unit = units.find((u) => join(blocksDir, u.fileName) === d.file);
  if (!unit) {
    problem('tsc', `${relative(root, d.file) || '(tsc)'}${d.line ? `:${d.line}` : ''}: ${d.message}`);
    continue;
  }
  const origin = unit.origin[d.line - 1] ?? { block: unit.blocks.at(-1) };
  const at = origin.mdLine ? `${origin.block.file}:${origin.mdLine}` : `generated check line`;
  origin.block.errors.push(`${at}: ${d.code} ${d.message}${origin.mdLine ? '' : `\n  ${unit.source[d.line - 1]}`}`);
}
if (tsc.code !== 0 && diagnostics.length === 0) problem('tsc', `tsc exited with ${tsc.code}:\n${tail(tscOutput)}`);

// ---------------------------------------------------------------------------------------------------------------
// 4. Run the `run` blocks against the demo servers.

const toRun = units.filter((u) => u.run && u.blocks.every((b) => b.errors.length === 0));
const redisOverride = process.env.M2M_REDIS_SERVER;
const redisMissing = redisOverride
  ? existsSync(redisOverride)
    ? undefined
    : `M2M_REDIS_SERVER=${redisOverride} does not exist`
  : findExecutable('redis-server')
    ? undefined
    : 'redis-server not found (install the Debian package redis-server, or set M2M_REDIS_SERVER=/path/to/redis-server)';

if (toRun.length) {
  const { tsImport } = await import('tsx/esm/api');
  const load = (path) => tsImport(pathToFileURL(join(root, path)).href, import.meta.url);
  const { startAuthorizationServer } = await load('demo/authorization-server.ts');
  const { startProtectedApi } = await load('demo/protected-api.ts');

  const client = { clientId: 'docs-service', clientSecret: 'fake-docs-secret' };
  // Auth0's shape: the token endpoint at /oauth/token, `audience` read as the RFC 8707 resource indicator.
  const as = await startAuthorizationServer({
    issuerPath: '/oauth',
    audienceParameter: true,
    clients: [{ client_id: client.clientId, client_secret: client.clientSecret, token_endpoint_auth_method: 'client_secret_post', scope: 'invoices:read reports:read' }],
    resources: [
      { resource: 'https://billing', scope: 'invoices:read' },
      { resource: 'https://reports', scope: 'reports:read' },
    ],
  });
  const apis = {
    billing: await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: 'https://billing' }),
    reports: await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: 'https://reports' }),
  };
  let redis;
  const needRedis = toRun.some((u) => u.needsRedis);
  if (needRedis && redisMissing) {
    console.log(`\n!!! check:docs: ${redisMissing}.`);
    console.log(`!!! The blocks that need Redis are type-checked but NOT run${CI ? ', and CI=true makes that a failure' : ''}.\n`);
  } else if (needRedis) {
    if (redisOverride) {
      // The repository's helper starts `redis-server` from PATH: put the chosen binary there under that name.
      const bin = join(scratch, 'bin');
      mkdirSync(bin, { recursive: true });
      symlinkSync(resolve(redisOverride), join(bin, 'redis-server'));
      process.env.PATH = [bin, process.env.PATH].join(delimiter);
    }
    const { startRedisServer } = await load('test/helpers/redis-server.ts');
    redis = await startRedisServer();
  }
  const origin = new URL(as.issuer).origin;
  const env = childEnv({
    // The quickstart's variables, and the values behind `uses` names, all pointing at the demo.
    AUTH0_DOMAIN: origin,
    AUTH0_CLIENT_ID: client.clientId,
    AUTH0_CLIENT_SECRET: client.clientSecret,
    API_AUDIENCE: 'https://billing',
    API_URL: `${apis.billing.url}/health`,
    M2M_DOCS_ISSUER: as.issuer,
    M2M_DOCS_TOKEN_ENDPOINT: as.tokenEndpoint,
    M2M_DOCS_TARGETS: JSON.stringify({ [apis.billing.url]: { audience: 'https://billing' }, [apis.reports.url]: { audience: 'https://reports', scope: ['reports:read'] } }),
    TOKEN_STORE_KEY: randomBytes(32).toString('base64'),
    ...(redis ? { REDIS_URL: redis.url } : {}),
    NO_COLOR: '1',
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${pathToFileURL(join(runDir, '_guard.mjs')).href}`].filter(Boolean).join(' '),
  });
  writeFileSync(join(runDir, '_names.ts'), readFileSync(join(blocksDir, '_names.ts')));
  writeFileSync(
    join(runDir, '_guard.mjs'),
    `// Preloaded into every run: nothing but loopback is reachable, so a doc block can never call a real host.
import dns from 'node:dns';
import net from 'node:net';
const loopback = (host) => host === 'localhost' || host === '::1' || host === '[::1]' || /^127\\./.test(host) || host === undefined;
const refuse = (host) => Object.assign(new Error('check:docs: ' + host + ' is not a loopback host; doc runs reach only the demo servers'), { code: 'ENOTFOUND' });
const lookup = dns.lookup;
dns.lookup = function (host, options, callback) {
  if (loopback(host)) return lookup.apply(this, arguments);
  process.nextTick(typeof options === 'function' ? options : callback, refuse(host));
  return {};
};
const lookupAsync = dns.promises.lookup;
dns.promises.lookup = (host, ...rest) => (loopback(host) ? lookupAsync(host, ...rest) : Promise.reject(refuse(host)));
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const options = typeof args[0] === 'object' && args[0] !== null ? (Array.isArray(args[0]) ? args[0][0] : args[0]) : { host: typeof args[1] === 'string' ? args[1] : undefined, path: typeof args[0] === 'string' ? args[0] : undefined };
  if (!options.path && net.isIP(options.host ?? '') && !loopback(options.host)) throw refuse(options.host);
  return connect.apply(this, args);
};
`,
  );
  writeFileSync(
    join(runDir, '_setup.ts'),
    `// The values behind <!-- check: uses … --> names in runs: a TokenClient and endpoints of the demo servers.
import { TokenClient } from 'm2m-token';
const resolved = import.meta.resolve('m2m-token');
if (!resolved.includes('/consumer/node_modules/m2m-token/')) throw new Error('check:docs: m2m-token resolved to ' + resolved + ', not to the tarball');
const env = process.env as Record<string, string>;
let client: TokenClient | undefined;
const log = (write: (...a: unknown[]) => void) => (data: object, message = '') => write('[log]', message, data);
(globalThis as Record<string, unknown>).__m2mDocs = {
  get client() {
    return (client ??= new TokenClient({ domain: env.AUTH0_DOMAIN!, clientId: env.AUTH0_CLIENT_ID!, clientSecret: env.AUTH0_CLIENT_SECRET! }));
  },
  targets: JSON.parse(env.M2M_DOCS_TARGETS!),
  domain: env.AUTH0_DOMAIN,
  clientId: env.AUTH0_CLIENT_ID,
  clientSecret: env.AUTH0_CLIENT_SECRET,
  audience: env.API_AUDIENCE,
  issuer: env.M2M_DOCS_ISSUER,
  tokenEndpoint: env.M2M_DOCS_TOKEN_ENDPOINT,
  log: { info: log(console.log), warn: log(console.error), error: log(console.error) },
  get redis(): never {
    throw new Error('check:docs: the name redis (node-redis) is for the type check only; a run cannot use it');
  },
  async close() {
    await client?.close();
  },
};
`,
  );

  try {
    await runUnits(toRun, { as, apis, redis, env });
  } finally {
    await Promise.all([apis.billing.close(), apis.reports.close(), as.close(), redis?.stop()]);
  }
}

async function runUnits(toRun, { as, apis, redis, env }) {
  const substitute = (source) => Object.entries(PLACEHOLDERS).reduce((text, [placeholder, api]) => text.replaceAll(placeholder, apis[api].url), source);
  for (const unit of toRun) {
    const last = unit.blocks.at(-1);
    if (unit.needsRedis && !redis) {
      last.runResult = { status: CI ? 'fail' : 'skip', detail: `not run: ${redisMissing}${CI ? ' (CI=true: Redis must be there)' : ''}` };
      continue;
    }
    writeFileSync(join(runDir, unit.fileName), substitute(`${unit.source.join('\n')}\n`));
    let args;
    if (unit.runner === 'vitest') args = [join(consumer, 'node_modules', 'vitest', 'vitest.mjs'), 'run', `run/${unit.fileName}`];
    else if (unit.runner === 'node:test') args = ['--import', 'tsx', '--test', `run/${unit.fileName}`];
    else {
      const main = `${unit.name}.main.ts`;
      writeFileSync(
        join(runDir, main),
        `import './_setup.js';
try {
  await import('./${unit.fileName.replace(/\.ts$/, '.js')}');
} finally {
  await (globalThis as unknown as { __m2mDocs: { close(): Promise<void> } }).__m2mDocs.close();
}
process.exit(process.exitCode ?? 0); // what the block left open (keep-alive sockets, unread bodies) must not hold the run
`,
      );
      args = ['--import', 'tsx', `run/${main}`];
    }
    const before = { tokens: as.tokenRequests, billing: apis.billing.requests.length, reports: apis.reports.requests.length };
    const result = await runAsync(process.execPath, args, { cwd: consumer, env });
    const apiCalls = [...apis.billing.requests.slice(before.billing), ...apis.reports.requests.slice(before.reports)];
    const refused = apiCalls.filter((r) => !r.authorized);
    const tokenRequests = as.tokenRequests - before.tokens;
    const warnings = (result.stderr.match(/^.*(M2MTokenWarning|M2M_[A-Z_]+).*$/gm) ?? []).slice(0, 5);
    const output = `${result.stdout}\n${result.stderr}`;
    const passed = Number(/Tests\s+(\d+) passed/.exec(output)?.[1] ?? /^\S*\s*pass (\d+)$/m.exec(output)?.[1] ?? 0);
    const why = [];
    if (result.timedOut) why.push(`timed out after ${RUN_TIMEOUT / 1000} s`);
    else if (result.code !== 0) why.push(`exit code ${result.code ?? result.signal}`);
    if (warnings.length) why.push(`the client reported problems:\n${warnings.join('\n')}`);
    if (unit.runner !== 'tsx' && !result.timedOut && result.code === 0 && passed === 0) why.push('no test passed: is the file empty?');
    if (refused.length) why.push(`the demo API refused ${refused.length} of ${apiCalls.length} calls: ${refused.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    const what =
      unit.runner === 'tsx'
        ? `ran: ${tokenRequests} token request${tokenRequests === 1 ? '' : 's'}, ${apiCalls.length} API call${apiCalls.length === 1 ? '' : 's'}${apiCalls.length ? ' (all authorized)' : ''}`
        : `ran with ${unit.runner}: ${passed} test${passed === 1 ? '' : 's'} passed`;
    last.runResult = why.length
      ? { status: 'fail', detail: `run (${unit.runner}) failed: ${why.join('; ')}`, output: tail(output) }
      : { status: 'ok', detail: what };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Links.

const repoFile = (path) => existsSync(join(root, path));
let linkCount = 0;
for (const doc of docs) {
  const anchorsOf = new Map(docs.map((d) => [d.file, d.anchors]));
  for (const { line, url, image } of doc.links) {
    linkCount++;
    const where = `${doc.file}:${line}`;
    if (url.startsWith('#')) {
      if (!doc.anchors.has(decodeURIComponent(url.slice(1)))) problem(where, `link ${url}: no heading in ${doc.file} has that anchor`);
      continue;
    }
    const ours = new RegExp(`^(?:${REPOSITORY.replace(/[.]/g, '\\.')}/(?:blob|tree|raw)/main/|https://raw\\.githubusercontent\\.com/m2m-token/m2m-token/main/)([^#?]*)`).exec(url);
    if (ours) {
      const path = decodeURIComponent(ours[1]).replace(/\/$/, '');
      if (!repoFile(path)) problem(where, `link ${url}: ${path} does not exist in this repository`);
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('//')) continue; // another site: not checked (no network)
    const [pathPart, fragment] = url.split('#');
    const target = posix.normalize(posix.join(posix.dirname(doc.file), decodeURIComponent(pathPart.split('?')[0]))).replace(/\/$/, '');
    if (doc.file === 'README.md') {
      const inTarball = tarballFiles.has(target) || [...tarballFiles].some((f) => f.startsWith(`${target}/`));
      if (!inTarball) {
        const kind = repoFile(target) && statSync(join(root, target)).isDirectory() ? 'tree' : 'blob';
        const absolute = image ? `https://raw.githubusercontent.com/m2m-token/m2m-token/main/${target}` : `${REPOSITORY}/${kind}/main/${target}`;
        problem(where, `link ${url}: ${target} is not in the npm tarball, so the link breaks on the npm page; make it absolute: ${absolute}`);
        continue;
      }
    } else if (!repoFile(target)) {
      problem(where, `link ${url}: ${target} does not exist`);
      continue;
    }
    if (fragment && target.endsWith('.md') && anchorsOf.has(target) && !anchorsOf.get(target).has(fragment)) {
      problem(where, `link ${url}: no heading in ${target} has the anchor #${fragment}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

console.log('');
const counts = { ok: 0, fail: 0, skip: 0, ran: 0 };
for (const block of allBlocks) {
  const label = `${block.file}:${block.line}`.padEnd(15) + (block.heading ? ` [${block.heading}]` : '');
  if (block.problems.length) {
    counts.fail++;
    console.log(`FAIL  ${label}: markers or imports`);
    for (const p of block.problems) console.log(indent(p));
    if (!block.errors?.length) continue;
  }
  if (block.skip) {
    counts.skip++;
    console.log(`skip  ${label}: ${block.skip}`);
    continue;
  }
  const unit = block.unit;
  const isLast = unit.blocks.at(-1) === block;
  const notes = [];
  if (unit.blocks.length > 1) notes.push(isLast ? `with ${unit.blocks.slice(0, -1).map((b) => `${b.file}:${b.line}`).join(', ')}` : `continued by ${unit.blocks[unit.blocks.indexOf(block) + 1].file}:${unit.blocks[unit.blocks.indexOf(block) + 1].line}`);
  if (block.uses.length) notes.push(`uses ${block.uses.join(', ')}`);
  if (block.mirrors) notes.push(`mirrors ${block.mirrors}`);
  if (block.errors.length) {
    if (!block.problems.length) counts.fail++;
    console.log(`FAIL  ${label}: type check${notes.length ? ` (${notes.join('; ')})` : ''}`);
    for (const e of block.errors) console.log(indent(e));
    continue;
  }
  const run = isLast ? block.runResult : undefined;
  const checked = `type-checked${notes.length ? ` (${notes.join('; ')})` : ''}`;
  if (run?.status === 'fail') {
    counts.fail++;
    console.log(`FAIL  ${label}: ${checked}; ${run.detail}`);
    if (run.output) console.log(indent(run.output));
  } else if (run?.status === 'skip') {
    counts.skip++;
    console.log(`skip  ${label}: ${checked}; ${run.detail}`);
  } else {
    counts.ok++;
    if (run) counts.ran++;
    console.log(`ok    ${label}: ${checked}${run ? `; ${run.detail}` : unit.run && !isLast ? '; run with the block that continues it' : ''}`);
  }
}
if (problems.length) {
  console.log('');
  for (const p of problems) console.log(`FAIL  ${p.where}: ${p.message}`);
}
console.log(
  `\ncheck:docs: ${allBlocks.length} blocks: ${counts.ok} ok, ${counts.fail} failed, ${counts.skip} skipped, ${counts.ran} ran; ` +
    `${linkCount} links checked; ${problems.length} other problem${problems.length === 1 ? '' : 's'} (${seconds(started)})`,
);
if (redisMissing && units.some((u) => u.run && u.needsRedis)) console.log(`!!! ${redisMissing}: the Redis blocks did not run.`);
const failed = counts.fail > 0 || problems.length > 0;
console.log(failed ? 'check:docs FAILED' : 'check:docs passed');
process.exitCode = failed ? 1 : 0;
