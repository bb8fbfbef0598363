/**
 * `node bench/outbox.bench.ts`: what forwarding costs a tools/call, three daemons side by side
 * in one run (real `mcp-warden serve` processes guarding server-everything, `echo` over
 * Streamable HTTP, one call at a time, rounds interleaved: bench/lib/interleave.ts):
 *   - outbox.off: no audit destinations;
 *   - outbox.up: two destinations, an OTLP/HTTP receiver (test/fixtures/otlp-receiver.ts) and a
 *     TCP syslog sink in this process, both taking everything;
 *   - outbox.down: the same two destinations on loopback ports where nothing listens (a
 *     collector outage): every send fails, the outbox grows, the senders back off.
 * The checks are the ratios of p50 and p99 to outbox.off: a collector that is down must not slow
 * a call. Options: --calls N (default 3000), --warmup N (200), --rounds N (6), --json.
 */
import net from 'node:net';
import Database from 'better-sqlite3';
import { startOtlpReceiver } from '../test/fixtures/otlp-receiver.ts';
import { everythingServer, freePort, makeWardenEnv, startDaemonProcess } from '../test/helpers/warden-env.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { benchOptions } from './lib/options.ts';
import { RawMcpHttpClient } from './lib/raw-http-client.ts';
import { formatReport, makeReport, ratioCheck, type Row } from './lib/report.ts';
import { echoCall } from './lib/sdk-stdio.ts';

const options = benchOptions({ calls: 3000, warmup: 200, rounds: 6 });
const startedAt = new Date();

/** A syslog receiver that reads and drops everything (stands in for rsyslog: the bench measures Warden). */
async function syslogSink(): Promise<{ port: number; bytes: () => number; close: () => void }> {
  let bytes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes: () => bytes,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const otlp = await startOtlpReceiver();
const sink = await syslogSink();
const downOtlpPort = await freePort();
const downSyslogPort = await freePort();

const variants = [
  { id: 'outbox.off', measures: 'echo over Streamable HTTP, no audit destinations', destinations: undefined },
  {
    id: 'outbox.up',
    measures: 'the same with an OTLP/HTTP receiver and a TCP syslog receiver taking every record',
    destinations: {
      collector: { type: 'otlp', endpoint: otlp.url },
      siem: { type: 'syslog', host: '127.0.0.1', port: sink.port },
    },
  },
  {
    id: 'outbox.down',
    measures:
      'the same with both receivers down (nothing listens on their ports): records wait in the outbox',
    destinations: {
      collector: { type: 'otlp', endpoint: `http://127.0.0.1:${downOtlpPort}/v1/logs` },
      siem: { type: 'syslog', host: '127.0.0.1', port: downSyslogPort },
    },
  },
] as const;

const stops: (() => Promise<unknown>)[] = [];
const depths = new Map<string, () => number>();
const setups: Setup[] = variants.map((variant) => ({
  id: variant.id,
  async open() {
    const env = makeWardenEnv();
    env.env.MCP_WARDEN_LOG_LEVEL = 'warn';
    env.writeConfig({
      ...(variant.destinations ? { audit: { destinations: variant.destinations } } : {}),
      mcpServers: { everything: everythingServer() },
    });
    const daemon = await startDaemonProcess(env);
    stops.push(async () => {
      await daemon.stop();
      env.cleanup();
    });
    depths.set(variant.id, () => {
      const db = new Database(env.paths.auditDb, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
      } finally {
        db.close();
      }
    });
    const client = new RawMcpHttpClient(new URL('/mcp/everything', daemon.url), {
      authorization: `Bearer ${daemon.token}`,
    });
    await client.open();
    return {
      call: async (i: number) => {
        await client.request('tools/call', echoCall(i));
      },
      close: () => client.close(),
    };
  },
}));

const rows: Row[] = [];
try {
  const results = await interleaved(setups, options);
  for (const variant of variants) {
    const result = results.get(variant.id);
    const base = { id: variant.id, measures: variant.measures };
    if (!result) rows.push({ ...base, skipped: 'not run' });
    else if ('error' in result) rows.push({ ...base, skipped: `failed: ${result.error}` });
    else
      rows.push({
        ...base,
        latency: result.latency,
        figures: [{ label: 'outbox depth at the end', value: depths.get(variant.id)?.(), unit: 'count' }],
      });
  }
  rows
    .find((r) => r.id === 'outbox.up')
    ?.figures?.push({
      label: 'OTLP records received',
      value: otlp.records.length,
      unit: 'count',
    });
} finally {
  for (const stop of stops) await stop().catch(() => undefined);
  await otlp.close();
  sink.close();
}

const p50 = (row: Row) => row.latency?.p50Ms;
const p99 = (row: Row) => row.latency?.p99Ms;
const checks = [
  ratioCheck('p50 forwarding on, receivers up / off', rows, 'outbox.up', 'outbox.off', p50, '<=', 1.2),
  ratioCheck('p50 forwarding on, receivers down / off', rows, 'outbox.down', 'outbox.off', p50, '<=', 1.2),
  ratioCheck('p99 forwarding on, receivers down / off', rows, 'outbox.down', 'outbox.off', p99, '<=', 1.5),
];
const report = makeReport('outbox', startedAt, { ...options }, rows, checks);
process.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report) + '\n');
