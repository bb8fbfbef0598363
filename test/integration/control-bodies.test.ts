/**
 * Control API request bodies (read with raw-body, main/core/body-bytes.ts) against a real
 * daemon: over 1 MiB is TOO_LARGE (413) before any handler runs, a body that is not JSON or is
 * shorter than its Content-Length is INVALID_REQUEST (400), and the daemon answers the next
 * request as before.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MAX_CONTROL_BODY_BYTES } from '../../main/core/control/control-api.ts';
import {
  makeWardenEnv,
  startDaemonProcess,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

describe('control API bodies', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;
  const answer = (body: string | Buffer) =>
    fetch(`${daemon.url}/api/v1/approvals/no-such-approval`, {
      method: 'POST',
      headers: { authorization: `Bearer ${daemon.token}`, 'content-type': 'application/json' },
      body,
    });

  before(async () => {
    w = makeWardenEnv();
    daemon = await startDaemonProcess(w);
  });
  after(async () => {
    await daemon?.stop();
    w?.cleanup();
  });

  test('over the limit: 413 TOO_LARGE naming the limit; one byte under it is read (and judged)', async () => {
    const over = await answer(Buffer.alloc(MAX_CONTROL_BODY_BYTES + 1, 0x20));
    assert.equal(over.status, 413);
    assert.deepEqual(await over.json(), {
      error: { code: 'TOO_LARGE', message: `the body is over ${MAX_CONTROL_BODY_BYTES} bytes` },
    });
    const under = await answer(Buffer.alloc(MAX_CONTROL_BODY_BYTES - 2, 0x20));
    assert.equal(under.status, 400);
    assert.equal(((await under.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
  });

  test('not JSON: 400 INVALID_REQUEST', async () => {
    const response = await answer('{"choice": ');
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      error: { code: 'INVALID_REQUEST', message: 'the body is not JSON' },
    });
  });

  test('a body shorter than its Content-Length, then closed: the daemon stays up and answers', async () => {
    const url = new URL(`${daemon.url}/api/v1/approvals/no-such-approval`);
    await new Promise<void>((resolve) => {
      const req = http.request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${daemon.token}`, 'content-length': '100' },
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.write('{"choice"', () => req.destroy());
    });
    const status = await fetch(`${daemon.url}/api/v1/status`, {
      headers: { authorization: `Bearer ${daemon.token}` },
    });
    assert.equal(status.status, 200);
  });
});
