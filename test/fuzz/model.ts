/**
 * The shape of one generated fuzz case, and how it becomes concrete bytes. Everything a server may echo is a
 * {@link Text}: plain pieces and placeholders for the client's secret (in every form a request carries it),
 * the request itself, or the token, filled in when the response is made.
 */

/** Something the server (or a dispatcher) echoes back. */
export type Echo =
  | 'secret'
  | 'secret-form' // form-urlencoded, as in a client_secret_post body
  | 'secret-uri' // encodeURIComponent
  | 'basic' // the base64 of client_secret_basic's Authorization header
  | 'authorization' // the whole Authorization header the request carried, if any
  | 'body' // the whole request body
  | 'token'; // the access token this case issues

export type Segment = string | { echo: Echo };
export type Text = Segment[];

/** JSON as text, with number literals kept as written (`1e999` parses to Infinity). */
export type Json =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'num'; lit: string }
  | { t: 'str'; text: Text }
  | { t: 'arr'; items: Json[] }
  | { t: 'obj'; entries: [key: string, value: Json][] };

export type Body =
  | { kind: 'json'; value: Json; pad: string }
  | { kind: 'text'; text: Text }
  /** Valid JSON cut short: `cut` is a fraction of its length. */
  | { kind: 'truncated'; value: Json; cut: number }
  /** More than the 1 MiB cap. */
  | { kind: 'huge'; bytes: number };

export type HeaderValue = Text | Text[];

export interface ResponseModel {
  status: number;
  statusText: Text;
  headers: [name: string, value: HeaderValue][];
  body: Body;
}

/** How a fake dispatcher delivers the response. */
export interface Delivery {
  mode: 'sync' | 'micro' | 'immediate';
  /** Cut points of the body, as fractions of its byte length (may fall inside a UTF-8 sequence). */
  cuts: number[];
}

export type ErrorModel =
  | {
      shape: 'error';
      message: Text;
      name: Text | undefined;
      code: Text | undefined;
      props: [name: string, value: Text][];
      hidden: [name: string, value: Text][];
      symbols: Text[];
      stack: Text | undefined;
      cause: ErrorModel | undefined;
      circular: boolean;
    }
  | { shape: 'string'; text: Text }
  | { shape: 'plain'; props: [name: string, value: Text][] }
  | { shape: 'null' | 'undefined' | 'number' | 'symbol' }
  /** Misbehaving values no real HTTP client throws: getters that throw, a Proxy. */
  | { shape: 'throwing-getter' | 'proxy'; text: Text };

export type Exchange =
  | { kind: 'response'; response: ResponseModel; delivery: Delivery }
  /** The dispatcher fails: by throwing from dispatch(), before the response starts, or in the middle of the body. */
  | { kind: 'error'; stage: 'throw' | 'before-start' | 'mid-body'; error: ErrorModel; response: ResponseModel; delivery: Delivery }
  /** Nothing more ever comes: before the response starts, or in the middle of the body. */
  | { kind: 'hang'; stage: 'before-start' | 'mid-body'; response: ResponseModel; delivery: Delivery };

export type IssuerField =
  | { kind: 'same' }
  | { kind: 'toggle-slash' }
  | { kind: 'other'; text: Text }
  | { kind: 'json'; value: Json }
  | { kind: 'absent' };

export type EndpointField =
  | { kind: 'good'; host: 'same' | 'other' | 'loopback'; path: Text; query: Text }
  | { kind: 'http-remote'; host: Text }
  | { kind: 'credentials' }
  | { kind: 'scheme'; scheme: string }
  | { kind: 'text'; text: Text }
  | { kind: 'json'; value: Json }
  | { kind: 'absent' };

export interface DocModel {
  status: number;
  contentType: Text | undefined;
  /** A metadata document, or any body. */
  body: { kind: 'doc'; issuer: IssuerField; tokenEndpoint: EndpointField; methods: Json | undefined; mtls: Json | undefined; extra: [string, Json][] } | { kind: 'other'; body: Body };
}

export interface DiscoveryModel {
  /** Issuer path: '', '/', '/realms/acme', … */
  path: string;
  /** RFC 8414 location, then the OpenID one. */
  docs: [DocModel, DocModel];
}

export type SecretMethod = 'client_secret_post' | 'client_secret_basic' | 'client_secret_jwt';

export interface FuzzCase {
  secret: string;
  token: string;
  /** Explicit clientAuthentication, or undefined (static endpoint: post; issuer: chosen from the metadata). */
  method: SecretMethod | undefined;
  allowedTokenTypes: string[];
  transport: 'dispatcher' | 'loopback';
  discovery: DiscoveryModel | undefined;
  retries: number;
  callers: number;
  /** One per attempt; the last one answers every further attempt. */
  exchanges: Exchange[];
}

/** What the placeholders stand for in one request. */
export interface EchoValues {
  secret: string;
  token: string;
  clientId: string;
  /** The request being answered: its body and Authorization header. */
  requestBody: string;
  authorization: string | undefined;
}

export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** encodeURIComponent, or the secret as is when it is not well-formed Unicode (a lone surrogate). */
export function uriEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

export function basicCredentials(clientId: string, secret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64');
}

export function echoValue(echo: Echo, v: EchoValues): string {
  switch (echo) {
    case 'secret':
      return v.secret;
    case 'secret-form':
      return formEncode(v.secret);
    case 'secret-uri':
      return uriEncode(v.secret);
    case 'basic':
      // Only a request that used client_secret_basic carried it.
      return v.authorization?.startsWith('Basic ') ? v.authorization.slice('Basic '.length) : '';
    case 'authorization':
      return v.authorization ?? '';
    case 'body':
      return v.requestBody;
    case 'token':
      return v.token;
  }
}

export function renderText(text: Text, v: EchoValues): string {
  let out = '';
  for (const segment of text) out += typeof segment === 'string' ? segment : echoValue(segment.echo, v);
  return out;
}

export function renderJson(json: Json, v: EchoValues): string {
  switch (json.t) {
    case 'null':
      return 'null';
    case 'bool':
      return String(json.v);
    case 'num':
      return json.lit;
    case 'str':
      return JSON.stringify(renderText(json.text, v));
    case 'arr':
      return `[${json.items.map((item) => renderJson(item, v)).join(',')}]`;
    case 'obj':
      return `{${json.entries.map(([key, value]) => `${JSON.stringify(key)}:${renderJson(value, v)}`).join(',')}}`;
  }
}

export function renderBody(body: Body, v: EchoValues): string {
  switch (body.kind) {
    case 'json':
      return `${body.pad}${renderJson(body.value, v)}${body.pad}`;
    case 'text':
      return renderText(body.text, v);
    case 'truncated': {
      const full = renderJson(body.value, v);
      return full.slice(0, Math.floor(full.length * body.cut));
    }
    case 'huge':
      return `{"access_token":"${'x'.repeat(body.bytes)}"}`;
  }
}

export function renderHeaders(headers: ResponseModel['headers'], v: EchoValues): [string, string | string[]][] {
  return headers.map(([name, value]) => [
    name,
    Array.isArray(value[0]) ? (value as Text[]).map((t) => renderText(t, v)) : renderText(value as Text, v),
  ]);
}

/** Every echo placeholder used anywhere in a value of the model. */
export function echoesIn(value: unknown, out = new Set<Echo>()): Set<Echo> {
  if (Array.isArray(value)) for (const item of value) echoesIn(item, out);
  else if (value !== null && typeof value === 'object') {
    const echo = (value as { echo?: unknown }).echo;
    if (typeof echo === 'string') out.add(echo as Echo);
    else for (const child of Object.values(value)) echoesIn(child, out);
  }
  return out;
}
