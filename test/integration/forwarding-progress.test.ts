/**
 * Warden forwards progress notifications to the call they belong to, and a client's
 * cancellation to the server: the real server-everything through the real daemon, compared
 * with a client connected to it directly (test/helpers/forwarding-peers.ts); a cancelled call is
 * audited as cancelled.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import {
  CLIENT_INFO,
  TIMEOUT,
  both,
  call,
  connectDirect,
  connectHttp,
  wardenConfig,
  type Peer,
} from '../helpers/forwarding-peers.ts';
import { resultText } from '../helpers/sdk-client.ts';
import { waitFor } from '../helpers/warden-env.ts';

describe('forwarding: progress and cancellation', () => {
  const fx = useDaemonFixture({ config: wardenConfig() });

  test('progress notifications of a tools/call reach its onprogress callback', { timeout: TIMEOUT }, () =>
    both(
      () => connectHttp(fx.daemon),
      () => connectDirect(),
      async (viaWarden, plain) => {
        const run = async (peer: Peer) => {
          const progress: Progress[] = [];
          const result = await call(
            peer.client,
            'trigger-long-running-operation',
            { duration: 1, steps: 4 },
            { onprogress: (p) => progress.push(p) },
          );
          return { progress, result };
        };
        const [mine, theirs] = await Promise.all([run(viaWarden), run(plain)]);
        assert.deepEqual(
          mine.progress,
          [1, 2, 3, 4].map((progress) => ({ progress, total: 4 })),
        );
        // The direct stdio client can miss the last one: when the final progress and the result
        // arrive in one chunk, the SDK client handles the result first and then drops the progress
        // for an unknown token. What it got is a prefix of what the server sent.
        assert.ok(theirs.progress.length >= 3, `direct progress: ${JSON.stringify(theirs.progress)}`);
        assert.deepEqual(theirs.progress, mine.progress.slice(0, theirs.progress.length));
        assert.deepEqual(mine.result, theirs.result);
        assert.match(
          resultText(mine.result),
          /Long running operation completed\. Duration: 1 seconds, Steps: 4\./,
        );
        assert.deepEqual(viaWarden.errors, []);
      },
    ),
  );

  test(
    'an aborted tools/call is cancelled quickly, audited as cancelled, and the session goes on',
    { timeout: TIMEOUT },
    async () => {
      const peer = await connectHttp(fx.daemon);
      try {
        const controller = new AbortController();
        let firstProgress!: () => void;
        const running = new Promise<void>((resolve) => (firstProgress = resolve));
        const duration = 40; // a unique argument, to find the call in the audit log
        const pending = call(
          peer.client,
          'trigger-long-running-operation',
          { duration, steps: duration },
          { signal: controller.signal, onprogress: () => firstProgress() },
        );
        // The call is really running upstream once its first progress arrives.
        await running;
        const abortedAt = performance.now();
        controller.abort(new Error('the user stopped it'));
        await assert.rejects(pending, /the user stopped it/);
        assert.ok(performance.now() - abortedAt < 2000, 'the abort took too long');

        // The session still works.
        assert.deepEqual(await peer.client.ping(), {});
        const echo = await call(peer.client, 'echo', { message: 'still here' });
        assert.equal(resultText(echo), 'Echo: still here');

        // The audit log says the call was cancelled (recorded when the cancellation reached Warden).
        const reader = AuditReader.open(fx.w.paths.auditDb);
        try {
          const row = await waitFor(
            () =>
              reader
                .latest(50)
                .find(
                  (r) =>
                    r.tool === 'trigger-long-running-operation' &&
                    (r.arguments as { duration?: number } | null)?.duration === duration &&
                    r.outcome !== null,
                ),
            10_000,
            'the audit outcome of the cancelled call',
          );
          assert.equal(row.outcome, 'cancelled');
          assert.equal(row.clientName, CLIENT_INFO.name);
          assert.ok(typeof row.durationMs === 'number' && row.durationMs < 10_000);
          const echoRow = reader
            .latest(50)
            .find((r) => (r.arguments as { message?: string } | null)?.message === 'still here');
          assert.equal(echoRow?.outcome, 'ok');
        } finally {
          reader.close();
        }
      } finally {
        await peer.close();
      }
    },
  );
});
