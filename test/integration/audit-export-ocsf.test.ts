/**
 * `mcp-warden audit export --format ocsf` on a real audit log: one OCSF 1.8.0 API Activity event
 * per line, each valid against the class definition (test/data/ocsf-1.8.0), for the calls a real
 * daemon recorded: an allowed one and one its policy denied.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OCSF_VERSION } from '../../main/core/audit/ocsf.ts';
import { OcsfSchema, ocsfSchemaDir } from '../helpers/ocsf-validate.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import {
  CLI,
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

/** The parts of an exported event these tests read. */
interface OcsfEventShape {
  action_id: number;
  disposition_id: number;
  api: { operation: string; service: { name: string }; request: { data: unknown } };
  resources: { name: string }[];
  actor: { app_name: string; user: { name: string } };
  src_endpoint: { hostname: string };
  policy: { name: string };
  metadata: { product: { name: string } };
}

const schema = new OcsfSchema(ocsfSchemaDir(OCSF_VERSION));
let w: WardenEnv;

before(async () => {
  w = makeWardenEnv();
  w.writeConfig({
    policy: {
      rules: [
        { server: 'everything', tool: 'echo', action: 'allow' },
        { server: 'everything', tool: 'get-sum', action: 'deny', reason: 'no sums here' },
      ],
    },
    mcpServers: { everything: everythingServer() },
  });
  const daemon = await startDaemonProcess(w);
  try {
    const client = await httpClient(daemon.url, daemon.token, 'everything', 'ocsf-test-client');
    await callTool(client, 'echo', { message: 'hello' });
    assert.equal((await callTool(client, 'get-sum', { a: 1, b: 2 })).isError, true);
    await client.close();
  } finally {
    await daemon.stop();
  }
});

after(() => w?.cleanup());

function exportOcsf(args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, ['audit', 'export', '--format', 'ocsf', ...args], {
      env: w.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the OCSF export of an allowed and a denied call validates against the API Activity class', async () => {
  const result = await exportOcsf();
  assert.equal(result.code, 0, result.stderr);
  const events = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as OcsfEventShape);
  assert.equal(events.length, 2);
  for (const event of events)
    assert.deepEqual(schema.validate(event, 'events/application/api_activity.json'), []);
  const [allowed, denied] = events;
  assert.equal(allowed?.action_id, 1);
  assert.equal(allowed?.api.operation, 'tools/call');
  assert.equal(allowed?.api.service.name, 'everything');
  assert.deepEqual(allowed?.api.request.data, { message: 'hello' });
  assert.equal(allowed?.resources[0]?.name, 'echo');
  assert.equal(allowed?.actor.app_name, 'ocsf-test-client');
  assert.equal(allowed?.actor.user.name, os.userInfo().username);
  assert.equal(allowed?.src_endpoint.hostname, os.hostname());
  assert.equal(denied?.action_id, 2);
  assert.equal(denied?.disposition_id, 2);
  assert.equal(denied?.resources[0]?.name, 'get-sum');
  assert.match(denied?.policy.name ?? '', /no sums here/);
  assert.equal(denied?.metadata.product.name, 'MCP Warden');
});

test('--output writes the same events to a private file', async () => {
  const file = path.join(w.home, 'events.ocsf.jsonl');
  const result = await exportOcsf(['-o', file]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(file, 'utf8'), (await exportOcsf()).stdout);
});
