import type { KeyObject } from 'node:crypto';
import type { Credentials } from './client-auth.js';
import type { TlsCredentials } from './options.js';

// A fixed, public label: the fingerprint is a keyed hash only to separate it from every other use of SHA-256 on
// the same material. What keeps it from revealing the credential is the credential's own entropy.
const LABEL = 'm2m-token credential fingerprint v1';

/**
 * A short one-way digest of everything that proves the client's identity: the client secret, the private key of
 * `private_key_jwt`, the client certificate and its key. The shared-store key includes it, so two processes share
 * tokens only when they hold the same credential: a process with the right client id and the wrong secret finds
 * nothing in the store, and cannot write where a process with the right secret would read.
 *
 * HMAC-SHA-256 under a fixed label over the length-prefixed parts, base64url. Computed once per client, and only
 * when a store is configured: node:crypto is loaded here, not at import.
 */
export function credentialFingerprint(credentials: Credentials, tls: TlsCredentials | undefined): string {
  const crypto = process.getBuiltinModule('node:crypto');
  const hmac = crypto.createHmac('sha256', LABEL);
  const part = (name: string, value: string | Buffer | undefined) => {
    // Length-prefixed, so no two different lists of parts hash the same bytes.
    const bytes = value === undefined ? undefined : Buffer.isBuffer(value) ? value : Buffer.from(value);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(name.length, 0);
    header.writeInt32BE(bytes === undefined ? -1 : bytes.length, 4);
    hmac.update(header).update(name);
    if (bytes !== undefined) hmac.update(bytes);
  };
  part('client_id', credentials.clientId);
  part('client_secret', credentials.clientSecret);
  const assertion = credentials.assertion;
  part('assertion_key', assertion?.kind === 'key' ? assertionKeyBytes(assertion.key) : undefined);
  // A key held elsewhere (a signing function, a workload-identity file) is not in this process to bind to: the
  // entry is then bound to the client id and to how the assertion is made, and the store key does the rest.
  part('assertion_source', assertion === undefined ? undefined : assertion.kind === 'file' ? `file:${assertion.path}` : assertion.kind);
  part('tls_cert', tls === undefined ? undefined : pem(tls.cert));
  part('tls_key', tls === undefined ? undefined : privateKeyBytes(tls));
  return hmac.digest('base64url');
}

/**
 * The private key, not the public one: the public key is public, so it would bind nothing. Node exports every
 * private KeyObject as PKCS #8.
 */
function assertionKeyBytes(key: KeyObject): Buffer {
  return key.export({ type: 'pkcs8', format: 'der' });
}

function pem(value: string | Buffer): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

/**
 * The TLS private key in one canonical form, decrypted with the passphrase. The constructor has already loaded it
 * into a TLS context (options.ts), which reads PEM with the same OpenSSL parser: this cannot fail on a key it took.
 */
function privateKeyBytes(tls: TlsCredentials): Buffer {
  return process.getBuiltinModule('node:crypto').createPrivateKey({ key: tls.key, passphrase: tls.passphrase }).export({ type: 'pkcs8', format: 'der' });
}
