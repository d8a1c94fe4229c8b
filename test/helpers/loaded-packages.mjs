// Prints the npm packages loaded so far, as JSON, after importing each module in turn (one line per module).
// Run: node --import tsx test/helpers/loaded-packages.mjs <module> [<module> | <tokenEndpoint> …]
// It sees import and require() alike (module.registerHooks covers both). An http(s) URL instead of a module gets one
// default token from it with the last module's TokenClient (new TokenClient + getToken + close), as a cold start
// does, then prints a line too.
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
let entry;
for (const arg of process.argv.slice(2)) {
  if (/^https?:\/\//.test(arg)) {
    const client = new entry.TokenClient({ tokenEndpoint: arg, clientId: 'cold-start-client', clientSecret: 'fake-client-secret' });
    await client.getToken();
    await client.close();
  } else {
    entry = await import(pathToFileURL(arg).href);
  }
  console.log(JSON.stringify([...seen].sort()));
}
