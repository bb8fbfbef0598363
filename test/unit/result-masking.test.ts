/**
 * Results masking of what a server sends on its own (elicitation and sampling requests, log
 * messages), with the real scanner; and which action is in force when several policy sources
 * and the server's own setting say something (the most restrictive wins).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ResultMasking, type ResultMaskingPort } from '../../main/core/bridge/result-masking.ts';
import type { PolicySource, ResultSecretsAction } from '../../main/core/config/policy-schema.ts';
import type { ServerConfig } from '../../main/core/config/schema.ts';
import { silentLogger } from '../../main/core/log.ts';
import { resultSecretsFor } from '../../main/core/policy/result-secrets.ts';

const INJECTED = 'inj-value-5Tz8Qw';

function masking(action: ResultSecretsAction): { masking: ResultMasking; upstream: JSONRPCMessage[] } {
  const port: ResultMaskingPort = {
    decision: () => ({ action, by: 'test' }),
    injected: () => Promise.resolve([['API_TOKEN', INJECTED]]),
  };
  const upstream: JSONRPCMessage[] = [];
  return { masking: new ResultMasking(port, silentLogger(), (m) => upstream.push(m)), upstream };
}

const elicitation: JSONRPCMessage = {
  jsonrpc: '2.0',
  id: 'srv-1',
  method: 'elicitation/create',
  params: { message: `Confirm the key ${INJECTED}?`, requestedSchema: { type: 'object', properties: {} } },
};

test('an elicitation request holding an injected secret reaches the client masked', async () => {
  const { masking: m, upstream } = masking('mask');
  const screened = await m.screen(elicitation, undefined);
  assert.deepEqual(screened?.message, {
    ...elicitation,
    params: {
      ...(elicitation as { params: object }).params,
      message: 'Confirm the key [REDACTED:injected:API_TOKEN]?',
    },
  });
  assert.deepEqual(screened?.secrets, { rules: ['injected:API_TOKEN'], action: 'mask' });
  assert.deepEqual(upstream, []);
});

test('with "block" the elicitation is not delivered; the server gets an error naming the rule', async () => {
  const { masking: m, upstream } = masking('block');
  const screened = await m.screen(elicitation, undefined);
  assert.equal(screened?.message, undefined);
  assert.equal(upstream.length, 1);
  const answer = upstream[0] as { id: unknown; error: { message: string } };
  assert.equal(answer.id, 'srv-1');
  assert.match(answer.error.message, /blocked this elicitation\/create request.*injected:API_TOKEN/);
  assert.ok(!JSON.stringify(upstream).includes(INJECTED));
});

test('log messages are masked; a blocked one is dropped; messages of other kinds are not screened', async () => {
  const log: JSONRPCMessage = {
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { level: 'info', data: { env: `API_TOKEN=${INJECTED}` } },
  };
  const masked = await masking('mask').masking.screen(log, undefined);
  assert.deepEqual((masked?.message as { params: unknown }).params, {
    level: 'info',
    data: { env: 'API_TOKEN=[REDACTED:injected:API_TOKEN]' },
  });
  assert.equal((await masking('block').masking.screen(log, undefined))?.message, undefined);
  const listChanged: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
  assert.equal(masking('mask').masking.screen(listChanged, undefined), undefined);
  const listResult: JSONRPCMessage = { jsonrpc: '2.0', id: 3, result: { tools: [] } };
  assert.equal(masking('mask').masking.screen(listResult, 'tools/list'), undefined);
});

test('an error answer of the server is masked as well', async () => {
  const error: JSONRPCMessage = {
    jsonrpc: '2.0',
    id: 4,
    error: { code: -32000, message: `bad key ${INJECTED}` },
  };
  const screened = await masking('mask').masking.screen(error, 'tools/call');
  assert.deepEqual(screened?.message, {
    jsonrpc: '2.0',
    id: 4,
    error: { code: -32000, message: 'bad key [REDACTED:injected:API_TOKEN]' },
  });
});

const server = (resultSecrets?: ResultSecretsAction): ServerConfig => ({
  kind: 'stdio',
  name: 'github',
  command: 'x',
  args: [],
  env: {},
  tools: { deny: [] },
  ...(resultSecrets ? { resultSecrets } : {}),
});
const source = (
  kind: PolicySource['kind'],
  rules: { server: string; action: ResultSecretsAction }[],
): PolicySource => ({
  kind,
  origin: `${kind}.json`,
  document: { resultSecrets: rules },
});

test('the most restrictive source wins: a user cannot loosen managed policy, anyone can tighten', () => {
  assert.deepEqual(resultSecretsFor([], server()), { action: 'mask', by: 'default' });
  assert.deepEqual(resultSecretsFor([], server('allow')), {
    action: 'allow',
    by: 'mcpServers.github.resultSecrets',
  });
  assert.deepEqual(
    resultSecretsFor([source('managed', [{ server: '*', action: 'mask' }])], server('allow')),
    { action: 'mask', by: 'managed policy managed.json' },
  );
  assert.deepEqual(
    resultSecretsFor(
      [
        source('managed', [{ server: '*', action: 'mask' }]),
        source('user', [{ server: 'git*', action: 'block' }]),
      ],
      server(),
    ),
    { action: 'block', by: 'user config user.json' },
  );
  assert.deepEqual(
    resultSecretsFor([source('org', [{ server: 'other', action: 'block' }])], server()),
    { action: 'mask', by: 'default' },
    'a rule for another server does not apply',
  );
});
