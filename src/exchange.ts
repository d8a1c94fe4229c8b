import type { Dispatcher } from 'undici';
import type { HttpRequest } from './transport.js';

/** A response as it came off the wire, body read whole. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request in flight, abortable at any point, before or after it reaches a connection. */
export interface Exchange {
  readonly response: Promise<RawResponse>;
  /** Ends the exchange: `response` rejects with `reason` (unless it has already settled). */
  abort(reason: Error): void;
}

/**
 * Sends one request with undici's low-level `dispatch` and reads the body into memory, refusing more than
 * `maxBytes`. Lower-level than `request()` on purpose: no AbortSignal listeners and no body stream per
 * request, which is most of what a token request costs on the client beyond the socket itself. undici's own
 * controller aborts a started request; one not yet started (still connecting) is given up at once, and
 * aborted as soon as it starts.
 */
export function exchange(dispatcher: Dispatcher, request: HttpRequest, maxBytes: number, tooLarge: (status: number) => Error): Exchange {
  let controller: Dispatcher.DispatchController | undefined;
  let abortReason: Error | undefined;
  let settled = false;
  let fail!: (error: Error) => void;
  const response = new Promise<RawResponse>((resolve, reject) => {
    fail = (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    let status = 0;
    let headers: RawResponse['headers'] = {};
    const chunks: Buffer[] = [];
    let size = 0;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (abortReason !== undefined) c.abort(abortReason);
      },
      onResponseStart(c, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
        const length = Number(responseHeaders['content-length']);
        if (length > maxBytes) c.abort(tooLarge(statusCode));
      },
      onResponseData(c, chunk) {
        size += chunk.length;
        if (size > maxBytes) c.abort(tooLarge(status));
        else chunks.push(chunk);
      },
      onResponseEnd() {
        if (settled) return;
        settled = true;
        resolve({ status, headers, body: Buffer.concat(chunks, size).toString('utf8') });
      },
      onResponseError(_c, error) {
        fail(error);
      },
    };
    try {
      dispatcher.dispatch(
        {
          origin: request.origin ?? request.url.origin,
          path: request.path ?? request.url.pathname + request.url.search,
          method: request.method,
          headers: request.headers,
          body: request.body ?? null,
        },
        handler,
      );
    } catch (error) {
      fail(error as Error);
    }
  });
  return {
    response,
    abort(reason) {
      abortReason = reason;
      // Settle first: a controller that throws (a faulty interceptor) must not leave the exchange hanging.
      fail(reason);
      try {
        controller?.abort(reason);
      } catch {
        // Already settled above; the connection is the dispatcher's to clean up.
      }
    },
  };
}
