// The survivors of the mutation-testing issue, applied by hand one at a time to a copy of the sources in
// .scratch/mutate-by-hand/, each with the test file that must now fail. It covers the static mutants too (a name
// taken out of RESERVED_PARAMS, the metadata TTL), which `npm run mutate` skips. Run: npx node scripts/mutate-by-hand.mjs
// Exits 1 if a mutant survives (its test file still passes) or no longer applies (the code it edits changed).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';

const MUTANTS = [
  ['call-key-memo: array items ignored (scope [a] then [b] gets the token for a)', 'src/call-key-memo.ts', 'i < value.length && node !== undefined', 'false', 'test/call-key-memo-behaviour.test.ts'],
  ['client-auth: iat in milliseconds', 'src/client-auth.ts', 'Math.floor(Date.now() / 1000)', 'Math.floor(Date.now() * 1000)', 'test/client-auth-behaviour.test.ts'],
  ['discovery: a failed fetch kept for the hour', 'src/discovery.ts', 'if (this.#current === entry) this.#current = undefined;', 'if (false) this.#current = undefined;', 'test/discovery-behaviour.test.ts'],
  ['discovery: discovered endpoints not checked', 'src/discovery.ts', '      checkEndpointUrl(parsed, name, allowInsecureHttp);\n', '', 'test/discovery-behaviour.test.ts'],
  ['token-response: a 2xx OAuth error body not read as one', 'src/token-response.ts', "if (typeof body.error === 'string' && body.access_token === undefined) throw oauthError(status, body, ctx);", '', 'test/token-response-behaviour.test.ts'],
  ['token-params: client_assertion(_type) not reserved', 'src/token-params.ts', "'client_secret', 'client_assertion', 'client_assertion_type',", "'client_secret',", 'test/token-params-behaviour.test.ts'],
  ['client-auth: the Basic credential not redacted', 'src/client-auth.ts', "secrets: [authorization.slice('Basic '.length), ...secretForms(clientSecret)]", 'secrets: [...secretForms(clientSecret)]', 'test/client-auth-behaviour.test.ts'],
  ['client-auth: the form-encoded secret not redacted', 'src/client-auth.ts', '[...new Set([secret, formEncode(secret), encodeURIComponent(secret)])]', '[...new Set([secret])]', 'test/client-auth-behaviour.test.ts'],
  ['single-flight: an old flight ends the newer one', 'src/single-flight.ts', 'if (this.#flights.get(key) === flight) this.#flights.delete(key);', 'if (true) this.#flights.delete(key);', 'test/single-flight-behaviour.test.ts'],
  ['token-response: expires_in null not read as absent', 'src/token-response.ts', 'if (value === undefined || value === null) {\n    const exp', 'if (value === undefined) {\n    const exp', 'test/token-response-behaviour.test.ts'],
  ['token-params: non-string extraParams values accepted', 'src/token-params.ts', "if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {", 'if (false) {', 'test/token-params-behaviour.test.ts'],
  ['token-params: extraParams order not normalized', 'src/token-params.ts', '  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));', '  return entries;', 'test/token-params-behaviour.test.ts'],
  ['discovery: metadata kept a day, not an hour', 'src/discovery.ts', 'export const METADATA_TTL: Milliseconds = 60 * 60 * 1000;', 'export const METADATA_TTL: Milliseconds = 24 * 60 * 60 * 1000;', 'test/discovery-behaviour.test.ts'],
  ['client-auth: a client_secret_* method without a secret', 'src/client-auth.ts', 'if (SECRET_METHODS.has(m) && credentials.clientSecret === undefined) {', 'if (false) {', 'test/client-auth-behaviour.test.ts'],
  ['errors: toJSON() drops the cause', 'src/errors.ts', '    if (this.cause !== undefined) json.cause = describeCause(this.cause);\n', '', 'test/errors-behaviour.test.ts'],
  ['errors: 4-character secrets withheld instead of cut out', 'src/errors.ts', 'const SCRUB_IN_PLACE = 4;', 'const SCRUB_IN_PLACE = 5;', 'test/errors-behaviour.test.ts'],
  ['client-auth: P-384 keys', 'src/client-auth.ts', "if (curve === 'secp384r1') return 'ES384';", '', 'test/client-auth-behaviour.test.ts'],
  ['client-auth: P-521 keys', 'src/client-auth.ts', "if (curve === 'secp521r1') return 'ES512';", '', 'test/client-auth-behaviour.test.ts'],
  ['client-auth: RSA-PSS keys with PS algs', 'src/client-auth.ts', "(type === 'rsa' || type === 'rsa-pss')", "(type === 'rsa')", 'test/client-auth-behaviour.test.ts'],
  ['errors: the name of an error not writable', 'src/errors.ts', "{ value: new.target.kind, configurable: true, writable: true }", "{ value: new.target.kind, configurable: true, writable: false }", 'test/errors-behaviour.test.ts'],
];

const dir = '.scratch/mutate-by-hand';
let failures = 0;
for (const [name, file, from, to, test] of MUTANTS) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ['src', 'test', 'vitest.config.ts', 'tsconfig.json', 'package.json']) cpSync(f, `${dir}/${f}`, { recursive: true });
  if (!existsSync(`${dir}/node_modules`)) symlinkSync('../../node_modules', `${dir}/node_modules`);
  const source = readFileSync(`${dir}/${file}`, 'utf8');
  if (!source.includes(from)) {
    console.log(`GONE     ${name}: ${file} no longer has the code this mutant edits`);
    failures += 1;
    continue;
  }
  writeFileSync(`${dir}/${file}`, source.replace(from, to));
  const run = spawnSync('vitest', ['run', '--reporter=dot', test], { cwd: dir, encoding: 'utf8' });
  const killed = run.status !== 0;
  console.log(`${killed ? 'killed  ' : 'SURVIVED'} ${name} (${test})`);
  if (!killed) failures += 1;
}
rmSync(dir, { recursive: true, force: true });
console.log(`${MUTANTS.length - failures} of ${MUTANTS.length} killed`);
process.exit(failures ? 1 : 0);
