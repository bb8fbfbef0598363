/**
 * A BridgeSession on the real AuditLog (outcomes and refusals batched per event-loop turn): a
 * real SDK Client and McpServer over InMemoryTransport. The row of a tools/call is read from a
 * second SQLite connection in the very continuation where the client gets its answer, before
 * any later turn of the event loop could commit it: so it proves the answer waited for the
 * commit. The batch also keeps a locked audit log failing closed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import type { CallAuditPort, GuardPort } from '../../main/core/bridge/session-ports.ts';
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
import { waitFor } from '../helpers/warden-env.ts';

describe('tools/call answers wait for their audit commit (real AuditLog)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let state: ReturnType<typeof openStateDb>;
  let log: AuditLog;
  let reader: Database.Database;
  let harness: SessionHarness | undefined;
  /** The echo calls the upstream server ran, with their audit row as the server ran them. */
  let ran: string[];
  let rowsAtRun: unknown[];
  /** Called inside the audit port's recordCall, after the INSERT is queued. */
  let onRecordCall: (() => void) | undefined;

  const makeServer = (): McpServer => {
    const server = new McpServer({ name: 'in-memory-upstream', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, ({ text }) => {
      ran.push(text);
      rowsAtRun.push(
        reader
          .prepare("SELECT tool, outcome FROM tool_calls WHERE json_extract(arguments, '$.text') = ?")
          .get(text),
      );
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    });
    server.registerTool('fail', { inputSchema: { text: z.string() } }, ({ text }) => ({
      content: [{ type: 'text', text: `failed: ${text}` }],
      isError: true,
    }));
    return server;
  };

  /** The audit port as the daemon wires it (session-wiring.ts). */
  const auditPort = (): CallAuditPort => ({
    recordCall: (start) => {
      const committed = log.queueCall(start);
      onRecordCall?.();
      return committed;
    },
    recordOutcome: (id, end) => log.queueOutcome(id, end),
    recordRefusal: (start, error, durationMs) => log.queueRefusal(start, error, durationMs),
    policyVersion: () => undefined,
  });

  const open = async (guard: GuardPort): Promise<SessionHarness> => {
    const server = inMemoryServerConfig('mem', { deny: ['secret_*'] });
    const shadows = new ShadowTracker();
    harness = await connectThroughSession({
      ports: {
        catalog: {
          pins: new PinStore(state),
          toolLists: new ToolLists(server, 'test config'),
          observeTools: (client, tools) => shadows.observe(client, 'mem', tools),
        },
        guard,
        audit: auditPort(),
        upstream: inMemoryUpstream(makeServer),
      },
      server,
    });
    return harness;
  };

  const allowing: GuardPort = { decide: () => Promise.resolve({ action: 'allow', by: 'test guard' }) };

  /** The row of the latest call to `tool`, read from the second connection now. */
  const latest = (tool: string): { outcome: string | null; error: string | null } =>
    ({
      ...(reader
        .prepare('SELECT outcome, error FROM tool_calls WHERE tool = ? ORDER BY id DESC LIMIT 1')
        .get(tool) as object),
    }) as { outcome: string | null; error: string | null };

  beforeEach(() => {
    tmp = tempDir();
    state = openStateDb(path.join(tmp.dir, 'state.db'));
    log = AuditLog.open(path.join(tmp.dir, 'audit.db'), { busyTimeoutMs: 50 });
    reader = new Database(log.file, { readonly: true });
    ran = [];
    rowsAtRun = [];
    onRecordCall = undefined;
  });

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    reader.close();
    log.close();
    state.close();
    tmp.cleanup();
  });

  test('the result of an allowed call arrives with its outcome already committed', async () => {
    const { client } = await open(allowing);
    const ok = (await client.callTool({ name: 'echo', arguments: { text: 'hi' } })) as CallToolResult;
    assert.deepEqual(latest('echo'), { outcome: 'ok', error: null });
    assert.equal(ok.isError, undefined);
    const failed = (await client.callTool({ name: 'fail', arguments: { text: 'no' } })) as CallToolResult;
    assert.deepEqual(latest('fail'), { outcome: 'tool_error', error: 'failed: no' });
    assert.equal(failed.isError, true);
  });

  test('20 calls answered in the same turns: each outcome is committed when its result arrives', async () => {
    const { client } = await open(allowing);
    const row = reader.prepare("SELECT outcome FROM tool_calls WHERE json_extract(arguments, '$.text') = ?");
    const seen = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await client.callTool({ name: 'echo', arguments: { text: `t${i}` } });
        return (row.get(`t${i}`) as { outcome: string | null }).outcome;
      }),
    );
    assert.deepEqual(
      seen,
      seen.map(() => 'ok'),
    );
  });

  test('the row of an allowed call is committed before the server runs it, alone or batched', async () => {
    const { client } = await open(allowing);
    await client.callTool({ name: 'echo', arguments: { text: 'alone' } });
    // Ten in the same turns: the first of a turn commits at once, the others in its batch.
    const texts = Array.from({ length: 10 }, (_, i) => `batched-${i}`);
    await Promise.all(texts.map((text) => client.callTool({ name: 'echo', arguments: { text } })));
    assert.deepEqual(ran, ['alone', ...texts]);
    assert.deepEqual(
      rowsAtRun.map((r) => ({ ...(r as object) })),
      ran.map(() => ({ tool: 'echo', outcome: null })),
    );
  });

  test('a call cancelled between its INSERT and its forwarding is recorded as cancelled and never forwarded', async () => {
    const { client, closedStreams } = await open(allowing);
    await client.listTools();
    const abort = new AbortController();
    onRecordCall = () => abort.abort('changed my mind');
    await assert.rejects(
      client.callTool({ name: 'echo', arguments: { text: 'withdrawn' } }, undefined, {
        signal: abort.signal,
      }),
    );
    await waitFor(
      () => latest('echo').outcome === 'cancelled',
      5000,
      'the withdrawn call to be recorded as cancelled',
    );
    assert.deepEqual(ran, [], 'the server never saw the call');
    assert.equal(closedStreams.length, 1, 'its response stream was ended without an answer');
    // The session goes on.
    await client.callTool({ name: 'echo', arguments: { text: 'next' } });
    assert.deepEqual(ran, ['next']);
  });

  test('a refusal arrives with its refused row already committed', async () => {
    const { client } = await open({
      decide: () => Promise.resolve({ action: 'deny', by: 'test rule', reason: 'writes are off today' }),
    });
    const result = (await client.callTool({ name: 'echo', arguments: { text: 'x' } })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.deepEqual(latest('echo'), {
      outcome: 'refused',
      error: 'MCP Warden refused this call: writes are off today.',
    });
  });

  test('a locked audit log refuses the call: it is not forwarded and the client is told why', async () => {
    const { client } = await open(allowing);
    await client.listTools();
    const locker = new Database(log.file, { timeout: 0 });
    try {
      locker.exec('BEGIN IMMEDIATE');
      const answer = client.callTool({ name: 'echo', arguments: { text: 'locked' } });
      await assert.rejects(answer, /the call was not forwarded because the audit log could not record it/);
    } finally {
      locker.close();
    }
    assert.equal(reader.prepare('SELECT count(*) FROM tool_calls').pluck().get(), 0);
  });
});
