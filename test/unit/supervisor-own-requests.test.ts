/**
 * UpstreamSupervisor.request, Warden's own requests upstream (pin checks read lists with it):
 * a request that cannot be sent fails at once and leaves nothing behind that could reject later
 * with no one listening (which would end the daemon: Node exits on an unhandled rejection).
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { pino } from 'pino';
import { CircuitBreaker } from '../../main/core/bridge/circuit-breaker.ts';
import { UpstreamSupervisor } from '../../main/core/bridge/supervisor.ts';
import type { ServerConfig } from '../../main/core/config/schema.ts';
import { isWardenError } from '../../main/core/errors.ts';

test('an own request refused by the open circuit breaker rejects at once, and its timeout never fires later', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  const breaker = new CircuitBreaker({ threshold: 1 });
  breaker.recordFailure();
  assert.equal(breaker.state, 'open');
  const supervisor = new UpstreamSupervisor({
    server: { name: 'down' } as ServerConfig,
    breaker,
    logger: pino({ level: 'silent' }),
    onMessage: () => undefined,
    onLost: () => undefined,
    createLink: () => assert.fail('no link is started while the breaker is open'),
  });
  await assert.rejects(supervisor.request('tools/list', undefined, 1000), (error: unknown) =>
    isWardenError(error, 'CIRCUIT_OPEN'),
  );
  mock.timers.tick(5000);
  // Let any rejection the tick caused be reported (unhandledRejection fires after microtasks).
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(unhandled, []);
});
