// Writes package.json's version into src/version.ts (the User-Agent and the CLI's --version read it there).
// Run by `npm run release:version` right after `changeset version`; test/package.test.ts fails if they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const file = join(root, 'src', 'version.ts');
const before = readFileSync(file, 'utf8');
const after = before.replace(/PACKAGE_VERSION = '[^']*'/, `PACKAGE_VERSION = '${version}'`);
if (after === before && !before.includes(`PACKAGE_VERSION = '${version}'`)) throw new Error('src/version.ts has no PACKAGE_VERSION to update');
writeFileSync(file, after);
console.log(`src/version.ts: ${version}`);
