// Prints the npm packages loaded so far, as JSON, after importing each module in turn (one line per module).
// Run: node --import tsx test/helpers/loaded-packages.mjs <module> [<module> …]
// It sees import and require() alike (module.registerHooks covers both).
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    const after = result.url.split('/node_modules/').at(-1);
    if (after !== result.url) seen.add(after.startsWith('@') ? after.split('/').slice(0, 2).join('/') : after.split('/')[0]);
    return result;
  },
});
for (const module of process.argv.slice(2)) {
  await import(pathToFileURL(module).href);
  console.log(JSON.stringify([...seen].sort()));
}
