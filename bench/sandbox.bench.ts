/**
 * `node bench/sandbox.bench.ts`: what the OS sandbox costs, on and off side by side in one run.
 * One real daemon serves the same stdio server twice: `sandboxed` (in the OS sandbox, the
 * default) and `plain` ("sandbox": {"mode": "off"}); warm upstreams off, so every session spawns
 * its server. Rows:
 *   - spawn-*: the time from a new client's connect to its `initialize` answered (the spawn of
 *     the server, in the sandbox its sandbox host, bubblewrap and proxy first), per session;
 *   - call-*: sequential `echo` tools/call over one session (MCP bytes do not pass through the
 *     sandbox host: the server's stdio is its own).
 * Sessions and calls of the two alternate (bench/lib/interleave.ts), `--rounds` rounds, so a
 * machine that gets busier slows both alike: read the ratios.
 * Options: --calls N (default 2000), --spawns N (default 12), --rounds N (default 4), --json.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { mcpEndpointPath } from '../main/core/config/server-name.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { figure, formatReport, makeReport, ratioCheck, type Row } from './lib/report.ts';
import { makeWardenEnv, NODE, ROOT, startDaemonProcess } from '../test/helpers/warden-env.ts';
import { sandboxToolsMissing } from '../test/helpers/requirements.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    spawns: { type: 'string', default: '12' },
    rounds: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
  },
});
const CALLS = Number(values.calls);
const SPAWNS = Number(values.spawns);
const ROUNDS = Number(values.rounds);
const SERVER = path.join(ROOT, 'test/fixtures/hostile-server.ts');
const startedAt = new Date();

const missing = sandboxToolsMissing();
const env = makeWardenEnv();
env.env.MCP_WARDEN_LOG_LEVEL = 'warn';
env.writeConfig({
  daemon: { warmUpstreams: false },
  mcpServers: {
    sandboxed: { command: NODE, args: [SERVER] },
    plain: { command: NODE, args: [SERVER], sandbox: { mode: 'off' } },
  },
  policy: { rules: [{ server: '*', tool: 'echo', action: 'allow' }] },
});
const daemon = await startDaemonProcess(env);

async function connect(server: string): Promise<Client> {
  const client = new Client({ name: 'sandbox-bench', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpEndpointPath(server), daemon.url), {
      requestInit: { headers: { authorization: `Bearer ${daemon.token}` } },
    }),
  );
  return client;
}

/** One measured "call" is a whole new session: connect and initialize (then closed, untimed). */
const spawnSetup = (server: string): Setup => ({
  id: `spawn-${server}`,
  open: () => {
    let last: Client | undefined;
    return Promise.resolve({
      call: async () => {
        last = await connect(server);
      },
      afterCall: () => {
        const client = last;
        last = undefined;
        void client?.close();
      },
      close: async () => {
        await last?.close();
      },
    });
  },
});

const callSetup = (server: string): Setup => ({
  id: `call-${server}`,
  open: async () => {
    const client = await connect(server);
    return {
      call: async (i) => {
        await client.request(
          { method: 'tools/call', params: { name: 'echo', arguments: { message: `m${i}` } } },
          CallToolResultSchema,
        );
      },
      close: () => client.close(),
    };
  },
});

const rows: Row[] = [];
const measures: Record<string, string> = {
  'spawn-sandboxed': 'connect + initialize of a new session, server spawned in the OS sandbox',
  'spawn-plain': 'connect + initialize of a new session, server spawned without the sandbox',
  'call-sandboxed': 'sequential echo tools/call, server in the OS sandbox',
  'call-plain': 'sequential echo tools/call, server without the sandbox',
};
try {
  if (missing) {
    for (const id of Object.keys(measures)) rows.push({ id, measures: measures[id]!, skipped: missing });
  } else {
    const spawns = await interleaved([spawnSetup('sandboxed'), spawnSetup('plain')], {
      calls: SPAWNS,
      warmup: 1,
      rounds: ROUNDS,
    });
    const calls = await interleaved([callSetup('sandboxed'), callSetup('plain')], {
      calls: CALLS,
      warmup: 100,
      rounds: ROUNDS,
    });
    for (const [id, result] of [...spawns, ...calls]) {
      rows.push(
        'error' in result
          ? { id, measures: measures[id]!, skipped: result.error }
          : {
              id,
              measures: measures[id]!,
              latency: result.latency,
              figures: [{ label: 'p50', value: result.latency.p50Ms, unit: 'ms' }],
            },
      );
    }
  }
} finally {
  await daemon.stop();
  env.cleanup();
}

const p50 = (row: Row): number | undefined => figure(row, 'p50');
const report = makeReport('sandbox', startedAt, { calls: CALLS, spawns: SPAWNS, rounds: ROUNDS }, rows, [
  ratioCheck(
    'spawn-to-initialize p50, sandbox on / off',
    rows,
    'spawn-sandboxed',
    'spawn-plain',
    p50,
    '<=',
    3,
  ),
  ratioCheck('per-call p50, sandbox on / off', rows, 'call-sandboxed', 'call-plain', p50, '<=', 1.2),
]);
process.stdout.write((values.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
