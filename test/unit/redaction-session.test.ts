/**
 * Redaction and results masking inside a real BridgeSession: a real SDK Client and McpServer over
 * InMemoryTransport, the real AuditLog on a temporary file, the real content scanner (or one
 * made to throw, for failing closed).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import { AuditRedaction } from '../../main/core/audit/audit-redaction.ts';
import type { ResultMaskingPort } from '../../main/core/bridge/result-masking.ts';
import type { CallAuditPort, GuardPort } from '../../main/core/bridge/session-ports.ts';
import type { ResultSecretsAction } from '../../main/core/config/policy-schema.ts';
import { ToolLists } from '../../main/core/guard/tool-lists.ts';
import { PinStore } from '../../main/core/pins/pin-store.ts';
import { ShadowTracker } from '../../main/core/pins/shadowing.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';
import {
  connectThroughSession,
  inMemoryServerConfig,
  inMemoryUpstream,
  tempDir,
  type SessionHarness,
} from '../helpers/bridge-harness.ts';

const GITHUB_TOKEN = ['ghp', '_', 'Yb4Nc8Qd2Re6Sf0Tg3Uh7Vi1Wj5Xk9Lm2PoA'].join('');
const allowing: GuardPort = { decide: () => Promise.resolve({ action: 'allow', by: 'test guard' }) };

describe('redaction and masking in a BridgeSession (real AuditLog, real scanner)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let state: ReturnType<typeof openStateDb>;
  let log: AuditLog | undefined;
  let harness: SessionHarness | undefined;
  let ran: string[];

  const makeServer = (): McpServer => {
    const server = new McpServer({ name: 'in-memory-upstream', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, ({ text }) => {
      ran.push(text);
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    });
    server.registerResource('config', 'mem://config', {}, () => ({
      contents: [{ uri: 'mem://config', text: `token=${GITHUB_TOKEN}` }],
    }));
    server.registerPrompt('deploy', {}, () => ({
      messages: [{ role: 'user', content: { type: 'text', text: `use ${GITHUB_TOKEN}` } }],
    }));
    return server;
  };

  const auditPort = (audit: AuditLog): CallAuditPort => ({
    recordCall: (start) => audit.queueCall(start),
    recordOutcome: (id, end) => audit.queueOutcome(id, end),
    recordRefusal: (start, error, durationMs) => audit.queueRefusal(start, error, durationMs),
    policyVersion: () => undefined,
  });

  const open = async (audit: AuditLog, results: ResultMaskingPort | undefined): Promise<SessionHarness> => {
    const server = inMemoryServerConfig('mem');
    const shadows = new ShadowTracker();
    harness = await connectThroughSession({
      ports: {
        catalog: {
          pins: new PinStore(state),
          toolLists: new ToolLists(server, 'test config'),
          observeTools: (client, tools) => shadows.observe(client, 'mem', tools),
        },
        guard: allowing,
        audit: auditPort(audit),
        upstream: inMemoryUpstream(makeServer),
        ...(results ? { results } : {}),
      },
      server,
    });
    return harness;
  };

  const masking = (action: ResultSecretsAction, scan?: ResultMaskingPort['scan']): ResultMaskingPort => ({
    decision: () => ({ action, by: 'test' }),
    injected: () => Promise.resolve([]),
    ...(scan ? { scan } : {}),
  });

  const rows = (): Record<string, unknown>[] => {
    const db = new Database(log!.file, { readonly: true });
    try {
      return db.prepare('SELECT * FROM tool_calls ORDER BY id').all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    tmp = tempDir();
    state = openStateDb(path.join(tmp.dir, 'state.db'));
    ran = [];
  });

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    log?.close();
    log = undefined;
    state.close();
    tmp.cleanup();
  });

  test('a scanner that throws: the call is refused, never forwarded, and recorded as refused with the reason', async () => {
    log = AuditLog.open(path.join(tmp.dir, 'audit.db'), {
      redaction: new AuditRedaction({ scan: () => Promise.reject(new Error('scanner exploded')) }),
    });
    const { client } = await open(log, masking('mask'));
    await assert.rejects(
      client.callTool({ name: 'echo', arguments: { text: GITHUB_TOKEN } }),
      /not forwarded.*could not redact the call for the audit log: scanner exploded/,
    );
    assert.deepEqual(ran, [], 'the upstream never ran the call');
    const [row, ...more] = rows();
    assert.deepEqual(more, []);
    assert.equal(row!.tool, 'echo');
    assert.equal(row!.decision, 'deny');
    assert.equal(row!.outcome, 'refused');
    assert.equal(row!.arguments, null, 'arguments that could not be redacted are not stored');
    assert.match(
      String(row!.error),
      /^refused: could not redact the call for the audit log: scanner exploded$/,
    );
  });

  test('resources/read contents and prompts/get messages reach the client masked', async () => {
    log = AuditLog.open(path.join(tmp.dir, 'audit.db'));
    const { client } = await open(log, masking('mask'));
    const resource = await client.readResource({ uri: 'mem://config' });
    assert.deepEqual(resource.contents, [{ uri: 'mem://config', text: 'token=[REDACTED:github]' }]);
    const prompt = await client.getPrompt({ name: 'deploy' });
    assert.deepEqual(prompt.messages, [
      { role: 'user', content: { type: 'text', text: 'use [REDACTED:github]' } },
    ]);
  });

  test('with "block" a resource holding a secret is answered with an error naming the rule', async () => {
    log = AuditLog.open(path.join(tmp.dir, 'audit.db'));
    const { client } = await open(log, masking('block'));
    await assert.rejects(
      client.readResource({ uri: 'mem://config' }),
      /MCP Warden blocked this resources\/read answer.*\(github\)/,
    );
    const ok = (await client.callTool({ name: 'echo', arguments: { text: 'plain' } })) as CallToolResult;
    assert.deepEqual(
      ok.content,
      [{ type: 'text', text: 'echo: plain' }],
      'a result without a secret is untouched',
    );
  });

  test('with "allow" the secret goes through and the row still names the rule', async () => {
    log = AuditLog.open(path.join(tmp.dir, 'audit.db'));
    const { client } = await open(log, masking('allow'));
    const result = (await client.callTool({
      name: 'echo',
      arguments: { text: GITHUB_TOKEN },
    })) as CallToolResult;
    assert.deepEqual(result.content, [{ type: 'text', text: `echo: ${GITHUB_TOKEN}` }]);
    const [row] = rows();
    assert.equal(row!.result_secret_action, 'allow');
    assert.equal(row!.result_secret_rules, 'github');
    assert.ok(!String(row!.arguments).includes(GITHUB_TOKEN), 'the audit row is redacted all the same');
  });

  test('a result that cannot be scanned is blocked (fail closed), and the row says so', async () => {
    log = AuditLog.open(path.join(tmp.dir, 'audit.db'));
    const { client } = await open(
      log,
      masking('mask', () => Promise.reject(new Error('scanner down'))),
    );
    const result = (await client.callTool({ name: 'echo', arguments: { text: 'hello' } })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(JSON.stringify(result.content), /could not be scanned for secrets \(scanner down\)/);
    assert.deepEqual(ran, ['hello']);
    const [row] = rows();
    assert.equal(row!.outcome, 'tool_error');
    assert.equal(row!.result_secret_action, 'block');
    assert.equal(row!.result_secret_rules, 'scan-failed');
  });
});
