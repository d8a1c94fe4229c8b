// The kit's only runtime imports of msw, @mswjs/interceptors and jose. Nothing imports this file statically:
// msw-loader.ts require()s it on first use. The build turns it into dist/testing/msw-modules.cjs, one
// CommonJS bundle of the three, loadable by require() everywhere (Jest's CommonJS runtime included).
export { http, HttpResponse, passthrough } from 'msw';
export { defineNetwork, InterceptorSource } from 'msw/experimental';
export { HttpRequestInterceptor } from '@mswjs/interceptors/http';
export { calculateJwkThumbprint, EmbeddedJWK, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
