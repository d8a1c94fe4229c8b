import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: Pem;
  /** For 127.0.0.1 and localhost, signed by the CA. */
  server: Pem;
  /** CN=m2m-client,O=m2m-token tests, signed by the CA (tls_client_auth). */
  client: Pem;
  /** Self-signed (self_signed_tls_client_auth). */
  selfSigned: Pem;
  /** Signed by a CA the server does not trust. */
  stranger: Pem;
  clientSubject: string;
}

/** Makes a small PKI for mTLS tests with the openssl command line, in a scratch folder it deletes. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'm2m-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) => run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const selfSign = (name: string, subject: string) => {
    key(name);
    run('req', '-x509', '-new', '-key', `${name}.key`, '-subj', subject, '-days', '2', '-out', `${name}.crt`);
  };
  const issue = (name: string, subject: string, ca: string, extensions: string) => {
    key(name);
    run('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  };
  try {
    selfSign('ca', '/CN=m2m-token test CA');
    selfSign('other-ca', '/CN=someone else CA');
    issue('server', '/CN=127.0.0.1', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    issue('client', '/CN=m2m-client/O=m2m-token tests', 'ca', 'extendedKeyUsage=clientAuth\n');
    issue('stranger', '/CN=m2m-client/O=m2m-token tests', 'other-ca', 'extendedKeyUsage=clientAuth\n');
    selfSign('self', '/CN=m2m-self-signed');
    const read = (name: string): Pem => ({
      cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
      key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    });
    return {
      ca: read('ca'),
      server: read('server'),
      client: read('client'),
      selfSigned: read('self'),
      stranger: read('stranger'),
      clientSubject: 'CN=m2m-client,O=m2m-token tests',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
