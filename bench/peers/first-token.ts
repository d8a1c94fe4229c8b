// Row 4b of `npm run bench:peers`: one library's first token in a fresh process. run.ts spawns this with plain
// node (its own type stripping, no tsx). Timed from the moment the adapters are loaded: importing the library,
// constructing its client and getting one token from the local server. A library that defers loading its HTTP
// client to the first request pays for it here, not in the import-cost row.
import type * as Peers from './peers.js';

const [name, targetJson] = process.argv.slice(2);
// Not a literal specifier: plain node needs the .ts name, which tsc would refuse in an import.
const peersUrl = new URL('./peers.ts', import.meta.url).href;
const { firstTokenRows } = (await import(peersUrl)) as typeof Peers;
const row = firstTokenRows().find((r) => r.name === name);
if (!row) throw new Error(`no row named ${name}`);
const target = JSON.parse(targetJson!) as Peers.Target;

const ready = performance.now();
const { call, close } = await row.make(target);
await call();
const done = performance.now();
process.stdout.write(JSON.stringify({ ms: done - ready }));
await close?.();
process.exit(0);
