/**
 * The 2026-07-28 checks Warden runs on what it forwards (main/core/era): `Mcp-Param-*` headers
 * against the body (spec basic/transports/streamable-http#server-validation, #value-encoding),
 * and the input requests of an `input_required` result against the request's declared client
 * capabilities (spec basic/patterns/mrtr, item 7).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { undeclaredInputCapabilities } from '../../main/core/era/input-requests.ts';
import {
  decodeParamHeader,
  encodeParamHeader,
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
