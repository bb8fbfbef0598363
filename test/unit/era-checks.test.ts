/**
 * The 2026-07-28 checks Warden runs on what it forwards (main/core/era): `Mcp-Param-*` headers
 * against the body (spec basic/transports/streamable-http#server-validation, #value-encoding),
 * and the input requests of an `input_required` result against the request's declared client
 * capabilities (spec basic/patterns/mrtr, item 7); the required standard headers, the HTTP
 * status of an error, the unsupported-version answer and `resultType` of what Warden answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SdkHttpError, SdkErrorCode } from '@modelcontextprotocol/client';
import { errorAnswerIn } from '../../main/core/bridge/upstream-modern-http.ts';
import { missingCapabilityAnswer, unservedVersionAnswer } from '../../main/core/bridge/session-modern.ts';
import { undeclaredInputCapabilities } from '../../main/core/era/input-requests.ts';
import {
  MODERN_ERROR,
  MODERN_VERSIONS,
  modernErrorHttpStatus,
  PROTOCOL_VERSION_META_KEY,
  withResultType,
} from '../../main/core/era/modern.ts';
import {
  decodeParamHeader,
  encodeParamHeader,
  missingStandardHeader,
  nameHeaderMismatch,
  paramHeaderDeclarations,
  paramHeaderMismatch,
  paramHeadersFor,
} from '../../main/core/era/param-headers.ts';

const SCHEMA = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    count: { type: 'integer', 'x-mcp-header': 'Count' },
    nested: { type: 'object', properties: { tenant: { type: 'string', 'x-mcp-header': 'Tenant' } } },
    free: { type: 'string' },
  },
};

/** How a client mirrors a value (the spec's encoding: Base64 sentinel unless plain ASCII). */
function mirror(value: string | number): string {
  const text = String(value);
  return /^[\x20-\x7e]*$/.test(text) && text.trim() === text
    ? text
    : `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

const headersOf =
  (headers: Record<string, string>) =>
  (name: string): string | undefined =>
    headers[name];

test('the declarations of a tool: nested properties included, undeclared ones not', () => {
  assert.deepEqual(
    paramHeaderDeclarations(SCHEMA).map((d) => [d.header, d.path.join('.')]),
    [
      ['Region', 'region'],
      ['Count', 'count'],
      ['Tenant', 'nested.tenant'],
    ],
  );
  assert.deepEqual(paramHeaderDeclarations(undefined), []);
});

test('headers mirrored as a client does agree with the body; any other value disagrees', () => {
  const declarations = paramHeaderDeclarations(SCHEMA);
  fc.assert(
    fc.property(fc.string(), fc.integer(), fc.string(), fc.string(), (region, count, tenant, other) => {
      const args = { region, count, nested: { tenant } };
      const headers = {
        'mcp-param-region': mirror(region),
        'mcp-param-count': mirror(count),
        'mcp-param-tenant': mirror(tenant),
      };
      assert.equal(paramHeaderMismatch(declarations, args, headersOf(headers)), undefined);
      if (other !== region) {
        const forged = { ...headers, 'mcp-param-region': mirror(other) };
        assert.match(paramHeaderMismatch(declarations, args, headersOf(forged)) ?? '', /Mcp-Param-Region/);
      }
      const { ['mcp-param-tenant']: _dropped, ...missing } = headers;
      assert.match(
        paramHeaderMismatch(declarations, args, headersOf(missing)) ?? '',
        /Tenant header is absent/,
      );
    }),
  );
});

test('an absent or null argument needs no header; numbers compare as numbers; bad Base64 is refused', () => {
  const declarations = paramHeaderDeclarations(SCHEMA);
  assert.equal(paramHeaderMismatch(declarations, { region: null }, headersOf({})), undefined);
  assert.equal(
    paramHeaderMismatch(declarations, { count: 42 }, headersOf({ 'mcp-param-count': '42.0' })),
    undefined,
  );
  assert.match(
    paramHeaderMismatch(declarations, { count: 42 }, headersOf({ 'mcp-param-count': '' })) ?? '',
    /Count/,
  );
  assert.match(
    paramHeaderMismatch(declarations, { region: 'eu' }, headersOf({ 'mcp-param-region': '=?base64?!!?=' })) ??
      '',
    /invalid Base64/,
  );
  fc.assert(fc.property(fc.string(), (s) => decodeParamHeader(mirror(s)) === s));
});

test('input requests need the capabilities the request declared; unknown methods never pass', () => {
  const result = (requests: Record<string, unknown>) => ({
    resultType: 'input_required',
    inputRequests: requests,
  });
  const elicit = { method: 'elicitation/create', params: { message: 'name?', requestedSchema: {} } };
  const url = { method: 'elicitation/create', params: { mode: 'url', url: 'https://x', message: 'go' } };
  const sample = { method: 'sampling/createMessage', params: { messages: [], maxTokens: 1 } };
  const roots = { method: 'roots/list' };

  assert.deepEqual(undeclaredInputCapabilities(result({ a: elicit }), { elicitation: { form: {} } }), []);
  assert.deepEqual(undeclaredInputCapabilities(result({ a: elicit }), { elicitation: {} }), []);
  assert.deepEqual(undeclaredInputCapabilities(result({ a: url }), { elicitation: { form: {} } }), [
    'elicitation.url',
  ]);
  assert.deepEqual(undeclaredInputCapabilities(result({ a: elicit, b: sample, c: roots }), {}), [
    'elicitation.form',
    'sampling',
    'roots',
  ]);
  assert.deepEqual(
    undeclaredInputCapabilities(result({ a: sample, c: roots }), { sampling: {}, roots: {} }),
    [],
  );
  assert.deepEqual(undeclaredInputCapabilities(result({ a: { method: 'tasks/get' } }), { sampling: {} }), [
    'unknown input request "tasks/get"',
  ]);
  assert.deepEqual(undeclaredInputCapabilities({ resultType: 'input_required', requestState: 'x' }, {}), []);
});

test('Mcp-Name mirrors params.name or params.uri; Warden mirrors Mcp-Param-* as a client does', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (name, other) => {
      assert.equal(nameHeaderMismatch('tools/call', { name }, encodeParamHeader(name)), undefined);
      assert.equal(nameHeaderMismatch('resources/read', { uri: name }, encodeParamHeader(name)), undefined);
      if (other !== name) assert.ok(nameHeaderMismatch('prompts/get', { name }, encodeParamHeader(other)));
      assert.match(nameHeaderMismatch('tools/call', { name }, undefined) ?? '', /absent/);
      const declarations = paramHeaderDeclarations(SCHEMA);
      const args = { region: name, nested: { tenant: other } };
      const sent = Object.fromEntries(
        Object.entries(paramHeadersFor(declarations, args)).map(([k, v]) => [k.toLowerCase(), v]),
      );
      assert.equal(paramHeaderMismatch(declarations, args, headersOf(sent)), undefined);
    }),
  );
  assert.equal(nameHeaderMismatch('tools/list', {}, undefined), undefined);
});

test('MCP-Protocol-Version and Mcp-Method are required on a 2026-07-28 request', () => {
  const both = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' };
  assert.equal(missingStandardHeader('tools/list', headersOf(both)), undefined);
  assert.match(
    missingStandardHeader('tools/list', headersOf({ 'mcp-protocol-version': '2026-07-28' })) ?? '',
    /Mcp-Method header is absent/,
  );
  assert.match(
    missingStandardHeader('tools/list', headersOf({ 'mcp-method': 'tools/list' })) ?? '',
    /MCP-Protocol-Version header is absent/,
  );
});

test('a 2026-07-28 error carries the HTTP status its code calls for; others are 200', () => {
  assert.equal(modernErrorHttpStatus(-32601), 404);
  for (const code of [-32700, -32600, ...Object.values(MODERN_ERROR)])
    assert.equal(modernErrorHttpStatus(code), 400);
  fc.assert(
    fc.property(
      fc.integer().filter((code) => ![-32700, -32600, -32601, ...Object.values(MODERN_ERROR)].includes(code)),
      (code) => modernErrorHttpStatus(code) === 200,
    ),
  );
});

test('a claimed version Warden does not serve is answered -32022 with the versions it serves', () => {
  const meta = (version: unknown) => ({ _meta: { [PROTOCOL_VERSION_META_KEY]: version } });
  for (const served of MODERN_VERSIONS) assert.equal(unservedVersionAnswer(1, meta(served)), undefined);
  assert.equal(unservedVersionAnswer(1, {}), undefined, 'no claim: the server judges it');
  for (const claimed of ['v999.0.0', '2025-11-25', 20260728]) {
    const answer = unservedVersionAnswer(7, meta(claimed)) as {
      id: unknown;
      error: { code: number; data: unknown };
    };
    assert.equal(answer.id, 7);
    assert.equal(answer.error.code, MODERN_ERROR.UnsupportedProtocolVersion);
    assert.deepEqual(answer.error.data, {
      supported: [...MODERN_VERSIONS],
      requested: String(claimed),
      source: 'mcp-warden',
    });
  }
});

test("-32021's requiredCapabilities is a ClientCapabilities object; Warden's results get resultType", () => {
  const answer = missingCapabilityAnswer(3, ['sampling', 'elicitation']).message as {
    error: { data: { requiredCapabilities: unknown } };
  };
  assert.deepEqual(answer.error.data.requiredCapabilities, { sampling: {}, elicitation: {} });
  assert.deepEqual(withResultType({ content: [] }), { content: [], resultType: 'complete' });
  assert.deepEqual(withResultType({ resultType: 'input_required', inputRequests: {} }), {
    resultType: 'input_required',
    inputRequests: {},
  });
});

test("a server's JSON-RPC error inside an HTTP error is its answer; anything else is not", () => {
  const httpError = (status: number, text: unknown) =>
    new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'Error POSTing to endpoint', { status, text });
  const notFound = { jsonrpc: '2.0', id: 5, error: { code: -32601, message: 'Method not found' } };
  assert.deepEqual(errorAnswerIn(httpError(404, JSON.stringify(notFound)), 5), notFound);
  assert.equal(errorAnswerIn(httpError(404, JSON.stringify(notFound)), 6), undefined, 'another request');
  assert.equal(errorAnswerIn(httpError(502, '<html>bad gateway</html>'), 5), undefined);
  assert.equal(errorAnswerIn(httpError(404, JSON.stringify({ ...notFound, extra: 1 })), 5), undefined);
  assert.equal(
    errorAnswerIn(httpError(404, JSON.stringify({ jsonrpc: '2.0', id: 5, result: {} })), 5),
    undefined,
    'a result is no error answer',
  );
  assert.equal(errorAnswerIn(new Error(JSON.stringify(notFound)), 5), undefined);
});
