// npm run bench:instructions: the client's work counted in CPU instructions (valgrind's callgrind), which, unlike
// wall or CPU time, the load of a shared machine does not change. Two rows:
//
//   1. Cold start: a fresh process that loads the library, constructs it, gets one token and closes, beside bare
//      `node -e 0` and the floor (one node:http request, what bench:peers' cold-start row uses too).
//   2. Fetching a token: instructions per call of sequential calls with the cache bypassed, m2m-token's
//      getToken({ forceRefresh: true }) beside undici.request and a bare node:http request, each with a keep-alive
//      Agent: calls 400 to 2 400 of a fresh process (the difference of two runs), so start-up and the first
//      calls' compilation are left out.
//
// The token server is its own process, not counted. V8 runs in its predictable mode (--predictable: one thread, and a
// GC schedule that does not depend on elapsed time, which valgrind's slowdown and the machine's load would change)
// with a fixed random seed and address-space randomisation off (setarch -R), so that the counts repeat: the cold start
// to about 0.01 %, the fetch path to about 0.5 %. No other V8 flag: Node's built-in modules come from a code cache that
// V8 rejects when the flags differ from the build's (--hash-seed does that, --predictable and --random-seed do not), and
// the floor would then compile node:http from source, three times its real cost. Needs valgrind and setarch (Debian: apt install
// valgrind util-linux): without them it says so and exits 1. It measures the built dist/ (run npm run build first).
//
//   npm run bench:instructions                    # both rows (about 5 minutes on the 2-core development machine)
//   npm run bench:instructions -- --rows=cold     # or --rows=fetch
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rows: { type: 'string', default: 'cold,fetch' } } });
const rows = new Set(values.rows.split(','));
const root = resolve(import.meta.dirname, '..');
const scratch = join(root, '.scratch', 'bench-instructions');
mkdirSync(scratch, { recursive: true });

for (const tool of ['valgrind', 'setarch']) {
  if (spawnSync(tool, ['--help'], { stdio: 'ignore' }).error) {
    console.error(`bench:instructions needs ${tool} on PATH (Debian: apt install valgrind util-linux); nothing measured.`);
    process.exit(1);
  }
}
if (!existsSync(join(root, 'dist', 'index.cjs'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

// The token server: a child process that answers every POST with a small JSON token.
writeFileSync(
  join(scratch, 'server.mjs'),
  `import { createServer } from 'node:http';
let n = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ access_token: 'bench-token-' + ++n, token_type: 'Bearer', expires_in: 86400 });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
process.on('disconnect', () => process.exit(0));
`,
);
const server = fork(join(scratch, 'server.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise((resolvePort) => server.once('message', resolvePort));
const endpoint = `http://127.0.0.1:${port}/oauth/token`;
const FORM = `new URLSearchParams({ grant_type: 'client_credentials', client_id: 'bench', client_secret: 'bench-secret', audience: 'https://api.bench.test' }).toString()`;
const HEADERS = `{ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }`;
const m2mOptions = `{ tokenEndpoint: ${JSON.stringify(endpoint)}, clientId: 'bench', clientSecret: 'bench-secret', audience: 'https://api.bench.test' }`;
const nodeHttpCall = (agent) => `() => new Promise((resolve, reject) => {
  const body = ${FORM};
  const req = http.request({ host: '127.0.0.1', port: ${port}, path: '/oauth/token', method: 'POST', ${agent}headers: { ...${HEADERS}, 'content-length': Buffer.byteLength(body) } }, (res) => {
    const chunks = [];
    res.on('data', (chunk) => chunks.push(chunk));
    res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')).access_token));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(body);
})`;

/** Instructions of one process (all threads), as callgrind counts them. */
function instructions(file, ...args) {
  const result = spawnSync(
    'setarch',
    ['-R', 'valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', '--random-seed=1', file, ...args],
    { cwd: scratch, encoding: 'utf8' },
  );
  const collected = /Collected : (\d+)/.exec(result.stderr)?.[1];
  if (result.status !== 0 || collected === undefined) throw new Error(`${file} failed under valgrind:\n${result.stderr.slice(-2000)}`);
  return Number(collected);
}
const M = (n) => `${(n / 1e6).toFixed(1)} M`;
const K = (n) => `${(n / 1e3).toFixed(0)} K`;

if (rows.has('cold')) {
  const scripts = {
    'bare node -e 0': ['bare.cjs', ''],
    'floor: node:http request (require)': ['floor.cjs', `const http = require('node:http');\n(${nodeHttpCall('')})();\n`],
    'm2m-token (require dist/index.cjs)': [
      'm2m.cjs',
      `const { TokenClient } = require(${JSON.stringify(join(root, 'dist', 'index.cjs'))});\nconst client = new TokenClient(${m2mOptions});\nclient.getToken().then(() => client.close());\n`,
    ],
    'm2m-token (import dist/index.js)': [
      'm2m.mjs',
      `const { TokenClient } = await import(${JSON.stringify(join(root, 'dist', 'index.js'))});\nconst client = new TokenClient(${m2mOptions});\nawait client.getToken();\nawait client.close();\n`,
    ],
  };
  const counts = {};
  for (const [name, [file, text]] of Object.entries(scripts)) {
    writeFileSync(join(scratch, file), text);
    counts[name] = instructions(file);
  }
  const bare = counts['bare node -e 0'];
  const floor = counts['floor: node:http request (require)'] - bare;
  console.log('\n### Cold start: instructions of a fresh process (load, construct, one token, close)\n');
  console.log('| process | instructions | over bare node | × the floor |\n| --- | ---: | ---: | ---: |');
  for (const [name, count] of Object.entries(counts)) {
    const over = count - bare;
    console.log(`| ${name} | ${M(count)} | ${name.startsWith('bare') ? '' : M(over)} | ${name.startsWith('bare') ? '' : (over / floor).toFixed(2)} |`);
  }
}

if (rows.has('fetch')) {
  const FIRST = 400;
  const LAST = 2400;
  const clients = {
    'floor: undici.request + keep-alive Agent': `const { Agent, request } = await import(${JSON.stringify(join(root, 'node_modules', 'undici', 'index.js'))});
const agent = new Agent();
const call = async () => { const { body } = await request(${JSON.stringify(endpoint)}, { method: 'POST', dispatcher: agent, headers: ${HEADERS}, body: ${FORM} }); return JSON.parse(await body.text()); };
const close = () => agent.close();`,
    'm2m-token getToken({ forceRefresh: true })': `const { TokenClient } = await import(${JSON.stringify(join(root, 'dist', 'index.js'))});
const client = new TokenClient(${m2mOptions});
const call = () => client.getToken({ forceRefresh: true });
const close = () => client.close();`,
    'reference: node:http + keep-alive Agent': `const http = process.getBuiltinModule('node:http');
const agent = new http.Agent({ keepAlive: true });
const call = ${nodeHttpCall('agent, ')};
const close = () => agent.destroy();`,
  };
  const perCall = {};
  for (const [name, setup] of Object.entries(clients)) {
    const file = `fetch-${Object.keys(perCall).length}.mjs`;
    writeFileSync(join(scratch, file), `${setup}\nconst calls = Number(process.argv[2]);\nfor (let i = 0; i < calls; i++) await call();\nawait close();\n`);
    perCall[name] = (instructions(file, String(LAST)) - instructions(file, String(FIRST))) / (LAST - FIRST);
  }
  const floor = perCall['floor: undici.request + keep-alive Agent'];
  console.log(`\n### Fetching a token: client instructions per call (calls ${FIRST} to ${LAST} of a fresh process)\n`);
  console.log('| client | instructions per call | × the floor |\n| --- | ---: | ---: |');
  for (const [name, count] of Object.entries(perCall)) console.log(`| ${name} | ${K(count)} | ${(count / floor).toFixed(2)} |`);
}
server.disconnect();
