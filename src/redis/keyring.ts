import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** Keys derived from one user key: separate keys for separate jobs, so no key is used for two purposes. */
interface DerivedKey {
  /** Short public tag written in the envelope, so decryption picks the right key without trying each. */
  id: string;
  cipher: Buffer;
  naming: Buffer;
}

// 2: the plaintext carries the value's issue time, and the cache key (the associated data) the credential's
// fingerprint. Values of version 1 are refused like any other unreadable value (their names differ anyway).
const VERSION = '2';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// 128 bits: collisions need ~2^64 cache keys; the name cannot be brute-forced without the naming key anyway.
const NAME_BYTES = 16;

/**
 * Secrets at rest: AES-256-GCM envelopes and HMAC-SHA256 names, under the user's keys, newest first.
 * Envelope: `2.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>`. The associated data binds it to its version, key id
 * and the whole store key (which includes the credential's fingerprint), so a value copied under another key
 * name, or with its header edited, or written for another credential, does not decrypt.
 */
export class Keyring {
  readonly #keys: readonly DerivedKey[];

  constructor(secrets: readonly Buffer[]) {
    // The same key listed twice (e.g. during a rotation rollout) is harmless: keep its first, newest place.
    const distinct = secrets.filter((secret, i) => secrets.findIndex((other) => other.equals(secret)) === i);
    this.#keys = distinct.map(derive);
  }

  /**
   * The cache key's name hash under each key, newest first. Each key names its own entries, so names do not
   * change when a new key is put in front, and a process never reads a value written under a key it lacks.
   */
  hashes(cacheKey: string): string[] {
    return this.#keys.map((k) => createHmac('sha256', k.naming).update(cacheKey).digest().subarray(0, NAME_BYTES).toString('base64url'));
  }

  /** Encrypts under the newest key. */
  seal(cacheKey: string, plaintext: string): string {
    const key = this.#keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.cipher, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(key.id, cacheKey));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${key.id}.${body.toString('base64url')}`;
  }

  /** Decrypts an envelope written by {@link seal} under any of the keys; throws an error that quotes nothing. */
  open(cacheKey: string, envelope: string): string {
    const [version, id, encoded, extra] = envelope.split('.');
    if (version !== VERSION || id === undefined || encoded === undefined || extra !== undefined) {
      throw unreadable('is not an envelope this version of m2m-token writes');
    }
    // Ids are 4 bytes: two keys may share one, however rarely, so every key with the id is tried.
    const candidates = this.#keys.filter((k) => k.id === id);
    if (candidates.length === 0) throw unreadable('was encrypted under a key that is not in encryptionKeys');
    const body = Buffer.from(encoded, 'base64url');
    if (body.length <= IV_BYTES + TAG_BYTES) throw unreadable('is truncated');
    for (const key of candidates) {
      const plaintext = decrypt(key, cacheKey, body);
      if (plaintext !== undefined) return plaintext;
    }
    throw unreadable('failed authentication: it was altered, or written under another key or for another cache key');
  }
}

/** The plaintext, or `undefined` when authentication fails. Nothing about the failure is kept: it could only hint at the data. */
function decrypt(key: DerivedKey, cacheKey: string, body: Buffer): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.cipher, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(key.id, cacheKey));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function derive(secret: Buffer): DerivedKey {
  const part = (info: string, length: number) => Buffer.from(hkdfSync('sha256', secret, 'm2m-token/redis', info, length));
  return {
    id: part('key id v1', 4).toString('hex'),
    cipher: part('aes-256-gcm v1', 32),
    naming: part('key names v1', 32),
  };
}

function associatedData(keyId: string, cacheKey: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${cacheKey}`, 'utf8');
}

/** A stored value that cannot be used: it is reported, and never quoted. The entry is fetched again. */
export class UnusableValueError extends Error {
  override name = 'UnusableValueError';
}

export function unreadable(why: string): UnusableValueError {
  return new UnusableValueError(`RedisTokenStore: the stored value ${why}; it is ignored and the token is fetched again.`);
}
