// Prints the npm packages a module loads, as JSON. Run: node --import tsx test/helpers/loaded-packages.mjs <module> [tokenEndpoint]
// With a token endpoint, it also gets one default token (new TokenClient + getToken + close), as a cold start does.
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
const entry = await import(pathToFileURL(process.argv[2]).href);
const tokenEndpoint = process.argv[3];
if (tokenEndpoint) {
  const client = new entry.TokenClient({ tokenEndpoint, clientId: 'cold-start-client', clientSecret: 'fake-client-secret' });
  await client.getToken();
  await client.close();
}
console.log(JSON.stringify([...seen].sort()));
