// Checks the reference tables of the guides against the source, so they cannot drift from the code:
//
// - `<!-- options-table: ENTRY TYPE -->` right above a Markdown table: the table's first column (one `name` per
//   row) must list exactly the properties of TYPE as exported by ENTRY (`m2m-token`, `m2m-token/redis`, …), and
//   every optional property of TYPE must have a `@default` tag in its TSDoc (the API reference shows it).
// - `<!-- error-codes -->` right above a table: its first column must list exactly the values of `ErrorCode`.
// - README.md must stay a landing page: at most README_MAX_BYTES.
//
// Run by `npm run check:docs` (which imports `checkReference`), or alone: `node scripts/check-reference.mjs`.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export const README_MAX_BYTES = 15_360;

// Options that are one of a group (the endpoint, the credential): "give exactly one / at least one" is their
// default, which the TSDoc says in words.
const NO_DEFAULT_NEEDED = new Set(['domain', 'tokenEndpoint', 'issuer', 'clientSecret', 'clientAssertion', 'tls']);

/** `m2m-token` → src/index.ts, `m2m-token/redis` → src/redis/index.ts. */
const entryFile = (root, entry) => join(root, 'src', ...(entry === 'm2m-token' ? [] : [entry.slice('m2m-token/'.length)]), 'index.ts');

/** Reads `<!-- marker -->` + table pairs from a Markdown file: [{ line, marker, names: [{ name, line }] }]. */
function markedTables(text, pattern) {
  const lines = text.split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const m = pattern.exec(lines[i]);
    if (!m) continue;
    const rows = [];
    let j = i + 1;
    for (; j < lines.length && lines[j].trim().startsWith('|'); j++) rows.push({ text: lines[j], line: j + 1 });
    const names = rows.slice(2).map((row) => ({ name: /^\|\s*`([^`]+)`/.exec(row.text)?.[1], line: row.line }));
    found.push({ line: i + 1, match: m, headerOk: rows.length >= 2, names });
  }
  return found;
}

/**
 * @param {{ root: string, files: string[] }} options Markdown files relative to root (README.md and docs/**).
 * @returns {{ where: string, message: string }[]} problems; also counts of what was checked.
 */
export function checkReference({ root, files }) {
  const problems = [];
  const checked = { optionTables: 0, options: 0, errorCodes: 0 };
  const problem = (where, message) => problems.push({ where, message });

  const readmeBytes = Buffer.byteLength(readFileSync(join(root, 'README.md')));
  if (readmeBytes > README_MAX_BYTES) {
    problem('README.md', `${readmeBytes} bytes, over the ${README_MAX_BYTES} a landing page may have: move the detail into a guide in docs/`);
  }

  const entries = ['m2m-token', 'm2m-token/fetch', 'm2m-token/axios', 'm2m-token/undici', 'm2m-token/redis', 'm2m-token/testing', 'm2m-token/opentelemetry'];
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram(entries.map((e) => entryFile(root, e)), config.options);
  const checker = program.getTypeChecker();
  const exportsOf = (entry) => {
    const source = program.getSourceFile(entryFile(root, entry));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    return new Map((moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []).map((s) => [s.name, s]));
  };
  const resolveAlias = (symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

  // ErrorCode's values, from the type of the exported const.
  const errorCodeSymbol = exportsOf('m2m-token').get('ErrorCode');
  const codes = new Set();
  if (errorCodeSymbol) {
    const value = resolveAlias(errorCodeSymbol);
    const type = checker.getTypeOfSymbol(value);
    for (const p of checker.getPropertiesOfType(type)) {
      const t = checker.getTypeOfSymbol(p);
      if (t.isStringLiteral()) codes.add(t.value);
    }
  }
  if (codes.size === 0) problem('src/errors.ts', 'could not read the values of ErrorCode');

  let errorTables = 0;
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const table of markedTables(text, /^<!--\s*options-table:\s*(m2m-token(?:\/[\w-]+)?)\s+([A-Za-z_$][\w$]*)\s*-->\s*$/)) {
      const [, entry, typeName] = table.match;
      const where = `${file}:${table.line}`;
      if (!table.headerOk) {
        problem(where, 'options-table: no Markdown table right below the marker');
        continue;
      }
      const symbol = exportsOf(entry).get(typeName);
      if (!symbol) {
        problem(where, `options-table: ${entry} exports no ${typeName}`);
        continue;
      }
      checked.optionTables++;
      const type = checker.getDeclaredTypeOfSymbol(resolveAlias(symbol));
      const members = type.isUnion() ? type.types : [type];
      const props = new Map();
      for (const member of members) for (const p of checker.getPropertiesOfType(member)) if (!props.has(p.name)) props.set(p.name, p);
      const documented = new Set();
      for (const { name, line } of table.names) {
        if (!name) problem(`${file}:${line}`, 'options-table: a row whose first cell is not a `name`');
        else if (!props.has(name)) problem(`${file}:${line}`, `options-table: ${typeName} (${entry}) has no option \`${name}\`: remove the row or fix its name`);
        else documented.add(name);
      }
      for (const [name, p] of props) {
        checked.options++;
        if (!documented.has(name)) problem(where, `options-table: ${typeName} (${entry}) has \`${name}\`, which the table does not document: add a row`);
        const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
        const hasDefault = p.getJsDocTags(checker).some((tag) => tag.name === 'default');
        if (optional && !hasDefault && !NO_DEFAULT_NEEDED.has(name)) {
          const decl = p.declarations?.[0];
          const at = decl ? `${decl.getSourceFile().fileName.slice(root.length + 1)}:${decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1}` : typeName;
          problem(at, `${typeName}.${name} has no @default tag in its TSDoc: say what leaving it out means`);
        }
      }
    }
    for (const table of markedTables(text, /^<!--\s*error-codes\s*-->\s*$/)) {
      errorTables++;
      const where = `${file}:${table.line}`;
      const listed = new Set();
      for (const { name, line } of table.names) {
        if (!name || !codes.has(name)) problem(`${file}:${line}`, `error-codes: \`${name}\` is not a value of ErrorCode (src/errors.ts)`);
        else listed.add(name);
      }
      for (const code of codes) {
        checked.errorCodes++;
        if (!listed.has(code)) problem(where, `error-codes: ${code} (ErrorCode in src/errors.ts) has no row: say when it happens and what to do`);
      }
    }
  }
  if (errorTables !== 1) problem('docs/errors.md', `expected one table marked <!-- error-codes --> in the docs, found ${errorTables}`);
  return { problems, checked, readmeBytes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = resolve(import.meta.dirname, '..');
  const { readdirSync } = await import('node:fs');
  const files = ['README.md', ...readdirSync(join(root, 'docs'), { recursive: true }).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const { problems, checked, readmeBytes } = checkReference({ root, files });
  for (const p of problems) console.log(`FAIL  ${p.where}: ${p.message}`);
  console.log(`check-reference: README ${readmeBytes} bytes (at most ${README_MAX_BYTES}); ${checked.optionTables} option tables, ${checked.options} options, ${checked.errorCodes} error codes checked; ${problems.length} problems`);
  process.exitCode = problems.length ? 1 : 0;
}
