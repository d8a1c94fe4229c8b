// Prints the npm packages a module loads, as JSON. Run: node --import tsx test/helpers/loaded-packages.mjs <module>
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
await import(pathToFileURL(process.argv[2]).href);
console.log(JSON.stringify([...seen].sort()));
