import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, CircuitBreaker } from '../../main/core/bridge/circuit-breaker.ts';

test('opens after threshold failures within the window, half-opens after the cooldown', () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 3, windowMs: 1000, cooldownMs: 500, now: () => now });
  breaker.recordFailure();
  breaker.recordFailure();
  assert.equal(breaker.state, 'closed');
  breaker.recordFailure();
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.retryAt, 500);
  now = 499;
  assert.equal(breaker.state, 'open');
  now = 500;
  assert.equal(breaker.state, 'half-open');
  breaker.recordFailure();
  assert.equal(breaker.state, 'open', 'a failure while half-open opens it again');
  now = 1000;
  breaker.recordSuccess();
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.recentFailures, 0);
});

test('failures outside the window do not count', () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 2, windowMs: 100, now: () => now });
  breaker.recordFailure();
  now = 150;
  breaker.recordFailure();
  assert.equal(breaker.state, 'closed');
});

test('a success does not close an open circuit before its cooldown', () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 1, cooldownMs: 100, now: () => now });
  breaker.recordFailure();
  breaker.recordSuccess();
  assert.equal(breaker.state, 'open');
  now = 100;
  breaker.recordSuccess();
  assert.equal(breaker.state, 'closed');
});

test('backoff doubles from the base up to the cap, with ±20 % jitter', () => {
  assert.equal(
    backoffDelay(0, 250, 10_000, () => 0.5),
    250,
  );
  assert.equal(
    backoffDelay(3, 250, 10_000, () => 0.5),
    2000,
  );
  assert.equal(
    backoffDelay(10, 250, 10_000, () => 0.5),
    10_000,
  );
  assert.equal(
    backoffDelay(0, 250, 10_000, () => 0),
    200,
  );
  assert.equal(
    backoffDelay(0, 250, 10_000, () => 1),
    300,
  );
});
