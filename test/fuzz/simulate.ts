/**
 * The README's retry and discovery rules, run over a case's model: which outcomes are possible, after how many
 * requests. Branches where the README allows more than one reading.
 */
import { ErrorCode } from 'm2m-token';
import type { Exchange, FuzzCase } from './model.js';
import { expectedRetryAfter, expectResponse, first, MAX_BYTES, retryableStatus, type Code, type Expected, type SeenResponse } from './oracle.js';
import { isHostile } from './servers.js';

/** One possible end of a token request. */
export interface Possible {
  expected: Expected;
  /** Requests sent to the token endpoint: at least, at most. */
  attempts: [number, number];
  /** Index of the token request whose response decided, when one did. */
  decidedBy?: number;
}

/** The case does something the README does not pin down (a hostile error object, a response node:http rewrites). */
export class Unmodelled extends Error {}

// README: a host name that does not resolve (ENOTFOUND) and a certificate that does not verify are never retried.
const PERMANENT = new Set(['ENOTFOUND', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']);
// Not in the README's list, but the dispatcher refusing the request itself: either reading.
const EITHER = new Set(['UND_ERR_DESTROYED', 'UND_ERR_CLOSED', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

export interface SimOptions {
  allowed: readonly string[];
  defaultLifetime: number;
  maxRetryAfter: number;
  now: number;
  /** The response the k-th token request got (or would get), as the client sees it. */
  seen(k: number): SeenResponse | undefined;
  /** Content-Length as the client reads it off the k-th response's headers. */
  declared(k: number): number;
  /** Timeouts of a few tens of ms (a case that hangs): on a loaded machine any attempt may time out. */
  tight: boolean;
  /** Whether the k-th response's head reaches the client as written (always, but on loopback). */
  clean(k: number): boolean;
}

const err = (code: Code, why: string): Expected => ({ kind: 'error', code, why });

export function simulateToken(c: FuzzCase, o: SimOptions): Possible[] {
  const n = c.exchanges.length;
  const out: Possible[] = [];
  const slow = new Set<number>();
  const step = (k: number) => {
    const ex: Exchange = c.exchanges[Math.min(k, n - 1)]!;
    const last = k >= c.retries;
    const final = (expected: Expected, max = k + 1) => out.push({ expected, attempts: [k + 1, max], decidedBy: k });
    if (o.tight && !slow.has(k)) {
      // On a loaded machine this attempt may time out instead: then it fails, or the next attempt decides.
      slow.add(k);
      out.push({ expected: err(ErrorCode.TIMEOUT, 'slow machine'), attempts: [k + 1, c.retries + 1] });
      if (!last) step(k + 1);
    }
    if (ex.kind === 'hang') {
      if (ex.stage === 'mid-body' && !o.clean(k)) throw new Unmodelled('a head node:http rewrites');
      if (ex.stage === 'mid-body' && o.declared(k) > MAX_BYTES) return final(err(ErrorCode.RESPONSE_TOO_LARGE, 'declared Content-Length over the cap'));
      // Timeouts are retried until the retries or totalTimeout run out.
      return final(err(ErrorCode.TIMEOUT, 'no answer'), c.retries + 1);
    }
    if (ex.kind === 'error') {
      if (isHostile(ex.error)) throw new Unmodelled('hostile error object');
      if (ex.stage === 'mid-body' && o.declared(k) > MAX_BYTES) return final(err(ErrorCode.RESPONSE_TOO_LARGE, 'declared Content-Length over the cap'));
      const e = ex.error;
      // On loopback the server resets the connection whatever the model says: a transient ECONNRESET.
      if (c.transport === 'loopback') {
        if (ex.stage === 'mid-body' && !o.clean(k)) throw new Unmodelled('a head node:http rewrites');
        if (last) final(err(ErrorCode.NETWORK_ERROR, 'connection reset'));
        else step(k + 1);
        return;
      }
      const code = e.shape === 'error' && e.code !== undefined && e.code.every((s) => typeof s === 'string') ? e.code.join('') : undefined;
      const permanent = code !== undefined && PERMANENT.has(code);
      const hasCode = (e.shape === 'error' && e.code !== undefined) || (e.shape === 'plain' && e.props.some(([name]) => name === 'code'));
      const either = code === undefined ? hasCode : EITHER.has(code);
      if (permanent || either || last) final(err(ErrorCode.NETWORK_ERROR, `dispatcher error ${code ?? e.shape}`));
      if ((!permanent || either) && !last) step(k + 1);
      return;
    }
    const seen = o.seen(k);
    if (seen === undefined) throw new Unmodelled('response not modelled');
    if (o.declared(k) > MAX_BYTES || Buffer.byteLength(seen.body) > MAX_BYTES) return final(err(ErrorCode.RESPONSE_TOO_LARGE, 'body over the cap'));
    for (const expected of expectResponse(seen, { allowed: o.allowed, defaultLifetime: o.defaultLifetime, sentAt: o.now })) {
      if (expected.kind === 'token' || !retryableStatus(seen.status) || last) {
        final(expected);
        continue;
      }
      const asked = expectedRetryAfter(seen, o.now);
      // Values JavaScript's Date.parse reads its own way (garbage, zone-less asctime): the retryAfter check reports those.
      if (asked.garbage || asked.asctime) {
        final(expected);
        step(k + 1);
      } else if (asked.value === undefined || asked.value <= o.maxRetryAfter) step(k + 1);
      else final(expected);
    }
  };
  step(0);
  return out;
}

// ---------------------------------------------------------------- discovery

export type SecretMethod = 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt';

export interface DiscoveryPossible {
  /** Metadata found: the token endpoint and the method; or the code the call fails with. */
  result: { ok: true; tokenUrl: URL; method: SecretMethod } | { ok: false; codes: string[]; why: string };
  /** GET requests per location. */
  gets: [number, number];
}

/** What a document says, per the README: usable metadata, another issuer (final), or unusable (try the next). */
type DocVerdict = { kind: 'ok'; tokenUrl: URL; methods: string[] | undefined } | { kind: 'mismatch' } | { kind: 'unusable'; why: string };

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function usableEndpoint(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return url;
  return undefined;
}

export function docVerdicts(seen: SeenResponse, issuer: string): DocVerdict[] {
  if (seen.status !== 200) return [{ kind: 'unusable', why: `HTTP ${seen.status}` }];
  let m: unknown;
  try {
    m = JSON.parse(seen.body);
  } catch {
    return [{ kind: 'unusable', why: 'not JSON' }];
  }
  if (m === null || typeof m !== 'object') return [{ kind: 'unusable', why: 'not an object' }];
  if (Array.isArray(m)) return [{ kind: 'unusable', why: 'an array' }, { kind: 'mismatch' }];
  const doc = m as Record<string, unknown>;
  if (typeof doc.issuer !== 'string') return [{ kind: 'mismatch' }, { kind: 'unusable', why: 'no issuer' }];
  if (doc.issuer.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) return [{ kind: 'mismatch' }];
  const tokenUrl = usableEndpoint(doc.token_endpoint);
  if (tokenUrl === undefined) return [{ kind: 'unusable', why: 'no usable token_endpoint' }];
  const methods = Array.isArray(doc.token_endpoint_auth_methods_supported)
    ? doc.token_endpoint_auth_methods_supported.filter((x): x is string => typeof x === 'string')
    : undefined;
  const ok: DocVerdict = { kind: 'ok', tokenUrl, methods };
  // An mTLS alias this client never uses (it has no certificate): ignoring a broken one and refusing are both defensible.
  const aliases = doc.mtls_endpoint_aliases;
  if (aliases !== undefined && aliases !== null && typeof aliases === 'object') {
    const alias = (aliases as Record<string, unknown>).token_endpoint;
    if (alias !== undefined && usableEndpoint(alias) === undefined) return [ok, { kind: 'unusable', why: 'broken mtls alias' }];
  }
  return [ok];
}

const PREFERENCE: SecretMethod[] = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];

export function simulateDiscovery(c: FuzzCase, issuer: string, seenDoc: (location: number) => SeenResponse): DiscoveryPossible[] {
  const out: DiscoveryPossible[] = [];
  const getsFor = (seen: SeenResponse) => (retryableStatus(seen.status) ? c.retries + 1 : 1);
  const conclude = (verdict: Extract<DocVerdict, { kind: 'ok' }>, gets: [number, number]) => {
    // RFC 8414 §2: a server that lists no methods supports client_secret_basic.
    const supported = verdict.methods ?? ['client_secret_basic'];
    const method = c.method ?? PREFERENCE.find((m) => supported.includes(m));
    if (method === undefined) {
      out.push({ result: { ok: false, codes: [ErrorCode.INVALID_OPTION, ErrorCode.DISCOVERY_FAILED], why: 'no method in common' }, gets });
    } else out.push({ result: { ok: true, tokenUrl: verdict.tokenUrl, method }, gets });
  };
  const first = seenDoc(0);
  for (const v0 of docVerdicts(first, issuer)) {
    const g0 = getsFor(first);
    if (v0.kind === 'ok') conclude(v0, [g0, 0]);
    else if (v0.kind === 'mismatch') out.push({ result: { ok: false, codes: [ErrorCode.DISCOVERY_FAILED], why: 'issuer mismatch at the RFC 8414 location' }, gets: [g0, 0] });
    else {
      const second = seenDoc(1);
      for (const v1 of docVerdicts(second, issuer)) {
        const gets: [number, number] = [g0, getsFor(second)];
        if (v1.kind === 'ok') conclude(v1, gets);
        else out.push({ result: { ok: false, codes: [ErrorCode.DISCOVERY_FAILED], why: `${v0.why}, then ${v1.kind === 'mismatch' ? 'issuer mismatch' : v1.why}` }, gets });
      }
    }
  }
  return out;
}

export { first };
