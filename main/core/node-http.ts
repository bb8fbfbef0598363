import type * as Http from 'node:http';
import { createRequire } from 'node:module';

type NodeHttp = typeof Http;

let loaded: NodeHttp | undefined;

/**
 * `node:http`, loaded with `require` on first use. Never `import` it as a value: an ES module
 * namespace of `node:http` reads every export, its lazy `WebSocket`, `MessageEvent` and
 * `CloseEvent` among them, which loads Node's bundled undici (fetch, web sockets): 13 MiB of
 * resident memory in a process that needs none of it (measured with Node 24). ESLint's
 * no-restricted-imports rule (eslint.config.js) keeps value imports out of main/; type imports
 * are fine.
 * @returns the module (the same object `import http from 'node:http'` gives).
 */
export function nodeHttp(): NodeHttp {
  loaded ??= createRequire(import.meta.url)('node:http') as NodeHttp;
  return loaded;
}
