/**
 * Forwarding through the durable outbox to real receivers: Debian's rsyslogd (imtcp on
 * loopback, started here as a foreground process with its own config, pid and work
 * directories) and an OTLP/HTTP receiver fixture (test/fixtures/otlp-receiver.ts: no
 * OpenTelemetry collector is packaged for this machine, so the fixture decodes what the
 * official exporter sends). With rsyslogd stopped for 30 s under a stream of calls and the
 * daemon killed with SIGKILL once meanwhile, every recorded call's record reaches both
 * receivers, each record id exactly once after de-duplication.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../fixtures/otlp-receiver.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { rsyslogMissing } from '../helpers/requirements.ts';
import { receivedSyslog, startRsyslog, type Rsyslog } from '../helpers/rsyslog.ts';
import { runProcess } from '../helpers/run.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { CLI, everythingServer, freePort, waitFor } from '../helpers/warden-env.ts';

const OUTAGE_MS = 30_000;

describe('forwarding with a durable outbox', { skip: rsyslogMissing() }, () => {
  let rsyslog: Rsyslog;
  let otlp: OtlpReceiver;
  const fx = useDaemonFixture({
    prepare: async (w, defer) => {
      rsyslog = await startRsyslog(path.join(w.home, 'rsyslog'), await freePort());
      defer(() => rsyslog.stop());
      otlp = await startOtlpReceiver();
      defer(() => otlp.close());
    },
    config: () => ({
      audit: {
        destinations: {
          siem: { type: 'syslog', host: '127.0.0.1', port: rsyslog.port, maxBackoffSeconds: 2 },
          collector: { type: 'otlp', endpoint: otlp.url, maxBackoffSeconds: 2 },
        },
      },
      policy: {
        rules: [
          { tool: 'echo', action: 'allow' },
          { tool: 'get-sum', action: 'deny', reason: 'not here' },
        ],
      },
      mcpServers: { everything: everythingServer() },
    }),
  });

  /** Record ids of every row of the audit log: `<log id>-<row id>`. */
  const expectedRecordIds = (): string[] => {
    const db = new Database(fx.w.paths.auditDb, { readonly: true });
    try {
      const logId = (
        db.prepare(`SELECT value FROM outbox_meta WHERE key = 'log_id'`).get() as { value: string }
      ).value;
      const ids = db.prepare('SELECT id FROM tool_calls ORDER BY id').all() as { id: number }[];
      // The signed checkpoints go out too (checkpointRecordId: `<log id>-checkpoint-<tree size>`).
      const checkpoints = db.prepare('SELECT tree_size FROM audit_checkpoints ORDER BY tree_size').all() as {
        tree_size: number;
      }[];
      return [
        ...ids.map(({ id }) => `${logId}-${id}`),
        ...checkpoints.map(({ tree_size }) => `${logId}-checkpoint-${tree_size}`),
      ];
    } finally {
      db.close();
    }
  };
  /** Records waiting in the outbox for `destination`. */
  const waitingFor = (destination: string): number => {
    const db = new Database(fx.w.paths.auditDb, { readonly: true });
    try {
      return (
        db.prepare('SELECT count(*) AS n FROM outbox WHERE destination = ?').get(destination) as { n: number }
      ).n;
    } finally {
      db.close();
    }
  };
  /** Whether the fixture's daemon runs now (false while it is being restarted). */
  const daemonRunning = (): boolean => {
    try {
      const { child } = fx.daemon;
      return child.exitCode === null && child.signalCode === null;
    } catch {
      return false;
    }
  };
  const syslogIds = (): string[] => receivedSyslog(rsyslog.file).map((m) => String(m.record.recordId));
  const otlpIds = (): string[] => otlp.records.map((r) => String(r.attributes['log.record.uid']));

  test('rsyslog down for 30 s and a kill -9 of the daemon: every call arrives, exactly once after de-duplication', async (t) => {
    let client: Client = await httpClient(fx.url, fx.token, 'everything', 'stream-client');
    let stop = false;
    let sent = 0;
    let failed = 0;
    const stream = (async () => {
      while (!stop) {
        try {
          await callTool(client, 'echo', { message: `m${sent++}` }, 5000);
        } catch {
          failed++;
          // The daemon was killed: wait for the next one, then connect again.
          await waitFor(() => stop || daemonRunning(), 30_000, 'a daemon');
          if (stop) break;
          try {
            client = await httpClient(fx.url, fx.token, 'everything', 'stream-client');
          } catch {
            // It is still starting: the next call fails and comes back here.
          }
        }
      }
    })();
    const refused = await callTool(client, 'get-sum', { a: 1, b: 2 });
    assert.equal(refused.isError, true);
    await waitFor(
      () => syslogIds().length >= 20 && otlpIds().length >= 20,
      30_000,
      'the first records at both receivers',
    );

    await rsyslog.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    await waitFor(() => Date.now() > outageEnds - OUTAGE_MS / 2, OUTAGE_MS, 'half the outage');
    const beforeKill = expectedRecordIds().length;
    const waitingAtKill = waitingFor('siem');
    assert.ok(waitingAtKill > 0, 'records for rsyslog wait in the outbox when the daemon is killed');
    fx.daemon.child.kill('SIGKILL');
    await new Promise((resolve) => fx.daemon.child.once('exit', resolve));
    await fx.start();
    await waitFor(
      () => expectedRecordIds().length > beforeKill + 20,
      30_000,
      'calls recorded by the new daemon',
    );
    await waitFor(() => Date.now() > outageEnds, OUTAGE_MS, 'the end of the outage');
    const duringOutage = syslogIds().length;
    await rsyslog.start();
    await waitFor(() => expectedRecordIds().length > beforeKill + 40, 30_000, 'more calls after the outage');
    stop = true;
    await stream;
    await client.close().catch(() => undefined);

    const expected = expectedRecordIds();
    const missing = (received: () => string[]) => {
      const got = new Set(received());
      return expected.filter((id) => !got.has(id));
    };
    await waitFor(() => missing(syslogIds).length === 0, 60_000, 'every record at rsyslog');
    await waitFor(() => missing(otlpIds).length === 0, 60_000, 'every record at the OTLP receiver');

    for (const [name, ids] of [
      ['rsyslog', syslogIds()],
      ['OTLP receiver', otlpIds()],
    ] as const) {
      assert.deepEqual(
        [...new Set(ids)].sort(),
        [...expected].sort(),
        `${name}: the set of record ids is the set of rows and checkpoints`,
      );
    }
    t.diagnostic(
      `${expected.length} rows; ${sent} calls sent, ${failed} failed around the kill; ${waitingAtKill} records waited for rsyslog at the kill; ` +
        `received ${syslogIds().length} at rsyslog, ${otlpIds().length} at the OTLP receiver (duplicates are re-sends)`,
    );
    assert.ok(sent > 100, `a stream of calls ran (${sent} sent, ${failed} failed around the kill)`);
    assert.ok(syslogIds().length > duringOutage, 'rsyslog received the records queued during the outage');

    // The OTLP records carry the GenAI/MCP semantic-convention attributes.
    const calls = otlp.records.filter((r) => r.attributes['mcp_warden.outcome'] === 'ok');
    assert.ok(calls.length > 0);
    const call = calls[0]!;
    assert.equal(call.attributes['mcp.method.name'], 'tools/call');
    assert.equal(call.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(call.attributes['gen_ai.tool.name'], 'echo');
    assert.equal(call.attributes['error.type'], undefined, 'a call that ended ok has no error.type');
    assert.equal(call.eventName, 'mcp_warden.tool_call');
    assert.equal(call.resource['service.name'], 'mcp-warden');
    const version = call.attributes['mcp.protocol.version'];
    t.diagnostic(`protocol version of the stream's session: ${String(version)}`);
    assert.equal(typeof version, 'string');
    if (version === '2025-11-25') assert.equal(typeof call.attributes['mcp.session.id'], 'string');
    else
      assert.equal(call.attributes['mcp.session.id'], undefined, `no mcp.session.id for ${String(version)}`);
    const refusal = otlp.records.find((r) => r.attributes['gen_ai.tool.name'] === 'get-sum');
    assert.equal(refusal?.attributes['error.type'], 'refused');
    assert.equal(refusal?.attributes['mcp_warden.decision'], 'deny');

    // audit status: nothing waits, both destinations delivered and rsyslog's outage is on record.
    const status = await runProcess(CLI, ['audit', 'status', '--json'], { env: fx.w.env });
    assert.equal(status.code, 0, status.stderr);
    const destinations = (
      JSON.parse(status.stdout) as {
        destinations: {
          destination: string;
          depth: number;
          delivered: number;
          lastError: string | null;
          lastSuccessAt: string | null;
          type: string;
        }[];
      }
    ).destinations;
    assert.deepEqual(
      destinations.map((d) => [d.destination, d.type, d.depth]),
      [
        ['collector', 'otlp', 0],
        ['siem', 'syslog', 0],
      ],
    );
    const siem = destinations.find((d) => d.destination === 'siem')!;
    assert.ok(siem.delivered >= expected.length);
    assert.match(siem.lastError ?? '', /syslog receiver 127\.0\.0\.1:\d+/);
    assert.notEqual(siem.lastSuccessAt, null);
  });
});
