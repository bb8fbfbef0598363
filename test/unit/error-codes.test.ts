/**
 * The error family (main/core/errors.ts): every code is thrown somewhere in the sources, maps
 * to a JSON-RPC error and an HTTP status, and crosses the wire ({ code, message }, IPC) whole.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import {
  fromIpcError,
  fromWire,
  httpStatusOf,
  isWardenErrorCode,
  toIpcError,
  toWire,
  WARDEN_ERROR_CODES,
  WardenError,
} from '../../main/core/errors.ts';
import { ROOT } from '../helpers/warden-env.ts';
import { jsonRpcErrorOf } from '../../main/core/bridge/jsonrpc.ts';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

test('every code is thrown somewhere in the sources (new WardenError(<code>, …))', () => {
  const thrown = new Set<string>();
  for (const dir of ['main', 'preload', 'renderer/src'])
    for (const file of sources(path.join(ROOT, dir)))
      // The first argument: a code literal, or an expression naming one (`… ? error.code : 'X'`).
      for (const match of fs.readFileSync(file, 'utf8').matchAll(/new WardenError\(\s*([^,]+),/g))
        for (const literal of match[1]!.matchAll(/'([A-Z_]+)'/g)) thrown.add(literal[1]!);
  assert.deepEqual(
    WARDEN_ERROR_CODES.filter((code) => !thrown.has(code)),
    [],
    'codes nothing throws',
  );
  assert.deepEqual(
    [...thrown].filter((code) => !isWardenErrorCode(code)),
    [],
    'thrown codes the family does not have',
  );
});

test('every code maps to a JSON-RPC error (an SDK ErrorCode, or the SDK transport’s -32001) and an HTTP error status', () => {
  const sdkCodes = new Set<number>(Object.values(ErrorCode).filter((v) => typeof v === 'number'));
  for (const code of WARDEN_ERROR_CODES) {
    const error = new WardenError(code, 'what happened');
    const rpc = jsonRpcErrorOf(error);
    assert.ok(sdkCodes.has(rpc.code), `${code}: JSON-RPC ${rpc.code}`);
    assert.deepEqual(rpc.data, { source: 'mcp-warden', reason: code });
    assert.equal(rpc.message, 'MCP Warden: what happened');
    const status = httpStatusOf(error);
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: HTTP ${status}`);
  }
  assert.equal(jsonRpcErrorOf(new WardenError('SESSION_NOT_FOUND', 'x')).code, -32001);
  assert.equal(
    jsonRpcErrorOf(new WardenError('PAUSED', 'MCP Warden is paused')).message,
    'MCP Warden is paused',
  );
});

test('today’s answers are kept: statuses and JSON-RPC codes clients see', () => {
  const cases: [string, number, number][] = [
    ['NOT_FOUND', 404, ErrorCode.InvalidRequest],
    ['CONFLICT', 409, ErrorCode.InvalidRequest],
    ['USAGE', 400, ErrorCode.InternalError],
    ['INVALID_REQUEST', 400, ErrorCode.InvalidRequest],
    ['PARSE_ERROR', 400, ErrorCode.ParseError],
    ['TOO_LARGE', 413, ErrorCode.InvalidRequest],
    ['METHOD_NOT_ALLOWED', 405, ErrorCode.InvalidRequest],
    ['UNAUTHORIZED', 401, ErrorCode.ConnectionClosed],
    ['FORBIDDEN', 403, ErrorCode.ConnectionClosed],
    ['SERVER_UNKNOWN', 404, ErrorCode.InvalidRequest],
    ['SERVER_NOT_ALLOWED', 403, ErrorCode.InvalidRequest],
    ['PAUSED', 503, ErrorCode.InvalidRequest],
    ['UPSTREAM_CRASHED', 500, ErrorCode.ConnectionClosed],
    ['REFUSED', 403, ErrorCode.InvalidParams],
    ['AUDIT_FAILED', 500, ErrorCode.InternalError],
  ];
  for (const [code, status, rpc] of cases) {
    const error = new WardenError(code as never, 'x');
    assert.equal(httpStatusOf(error), status, code);
    assert.equal(jsonRpcErrorOf(error).code, rpc, code);
  }
  assert.equal(httpStatusOf(new Error('plain')), 500);
  assert.deepEqual(jsonRpcErrorOf(new Error('plain')), {
    code: ErrorCode.InternalError,
    message: 'MCP Warden: plain',
    data: { source: 'mcp-warden', reason: 'INTERNAL' },
  });
});

test('{ code, message } and IPC rebuild the same error; an unknown code is UNRECOGNIZED, never USAGE', () => {
  fc.assert(
    fc.property(fc.constantFrom(...WARDEN_ERROR_CODES), fc.string(), (code, message) => {
      const error = new WardenError(code, message);
      for (const rebuilt of [
        fromWire(JSON.parse(JSON.stringify(toWire(error)))),
        fromIpcError(new Error(`Error invoking remote method 'warden:x': ${String(toIpcError(error))}`)),
      ]) {
        assert.equal(rebuilt?.code, code);
        assert.equal(rebuilt?.message, message);
      }
    }),
  );
  fc.assert(
    fc.property(
      fc.string().filter((code) => !isWardenErrorCode(code)),
      fc.string(),
      (code, message) => {
        const rebuilt = fromWire({ code, message });
        assert.equal(rebuilt?.code, 'UNRECOGNIZED');
        assert.equal(rebuilt?.received, code);
        assert.deepEqual(toWire(rebuilt), { code, message }, 'passed on as received');
      },
    ),
  );
  for (const notWire of [null, 'x', {}, { code: 1, message: 'm' }, { code: 'NOT_FOUND' }])
    assert.equal(fromWire(notWire), undefined);
  assert.equal(fromIpcError(new Error('WardenError: plain text')), undefined);
});
