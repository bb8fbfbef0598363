import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DashboardAccess, SESSION_TTL_MS, TICKET_TTL_MS } from '../../main/core/daemon/dashboard.ts';

test('a ticket is traded once for a session token; a used, unknown or expired ticket is refused', () => {
  let now = 1_000_000;
  const access = new DashboardAccess(() => now);
  const ticket = access.issueTicket();
  assert.match(ticket, /^[A-Za-z0-9_-]{43}$/);
  const token = access.redeem(ticket);
  assert.ok(token);
  assert.equal(access.redeem(ticket), undefined, 'single use');
  assert.equal(access.redeem('not-a-ticket-but-long-enough'), undefined);
  assert.equal(access.accepts(`Bearer ${token}`), true);
  assert.equal(access.accepts(token), false, 'only as a bearer token');
  assert.equal(access.accepts('Bearer someone-elses-token'), false);

  const late = access.issueTicket();
  now += TICKET_TTL_MS + 1;
  assert.equal(access.redeem(late), undefined, 'expired');
  now += SESSION_TTL_MS;
  assert.equal(access.accepts(`Bearer ${token}`), false, 'sessions end too');
});

test('at most 20 tickets wait: the oldest is dropped', () => {
  const access = new DashboardAccess();
  const first = access.issueTicket();
  for (let i = 0; i < 20; i++) access.issueTicket();
  assert.equal(access.redeem(first), undefined);
});
