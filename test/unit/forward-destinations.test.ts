import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../main/core/config/load.ts';
import type { PolicySource } from '../../main/core/config/policy-schema.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { destinationsInForce } from '../../main/core/forward/destinations.ts';
import { resolveHeaders } from '../../main/core/forward/forwarding.ts';
import { parsePolicy } from '../../main/core/policy/sources.ts';

const siem = { type: 'syslog', host: 'siem.example', port: 6514, tls: true } as const;
const collector = { type: 'otlp', endpoint: 'https://otel.example/v1/logs' } as const;

function config(destinations: Record<string, unknown>) {
  return parseConfig(JSON.stringify({ audit: { destinations }, mcpServers: {} }), '/home/u/config.json');
}

function managed(document: string): PolicySource {
  return {
    kind: 'managed',
    origin: '/etc/mcp-warden/managed-policy.json',
    document: parsePolicy(document, 'managed'),
  };
}

test('the config takes otlp and syslog destinations by name', () => {
  const parsed = config({
    siem,
    collector: { ...collector, headers: { Authorization: 'Bearer ${secret:OTLP_TOKEN}' } },
  });
  assert.deepEqual(Object.keys(parsed.auditDestinations).sort(), ['collector', 'siem']);
  const { destinations } = destinationsInForce(parsed, []);
  assert.deepEqual(
    destinations.map((d) => [d.name, d.destination.type, d.source, d.locked]),
    [
      ['collector', 'otlp', 'user', false],
      ['siem', 'syslog', 'user', false],
    ],
  );
});

test('a destination that is not valid is refused, naming the field', () => {
  for (const [bad, field] of [
    [{ type: 'syslog', host: 'x' }, 'port'],
    [{ type: 'otlp', endpoint: 'ftp://x/v1/logs' }, 'endpoint'],
    [{ type: 'kafka' }, 'type'],
    [{ ...siem, facility: 24 }, 'facility'],
  ] as const) {
    assert.throws(
      () => config({ siem: bad }),
      (error: unknown) =>
        isWardenError(error) && error.code === 'CONFIG_INVALID' && error.message.includes(field),
      `${JSON.stringify(bad)} names ${field}`,
    );
  }
  assert.throws(() => config({ 'no spaces': siem }), /destination name/);
});

test('without the lock the user may replace or disable a managed destination', () => {
  const policy = managed(JSON.stringify({ auditDestinations: { siem, collector } }));
  const user = config({
    siem: { ...siem, host: 'mine.example' },
    collector: { ...collector, disabled: true },
  });
  const { destinations, overrides } = destinationsInForce(user, [policy]);
  assert.deepEqual(
    destinations.map((d) => [d.name, d.source, d.destination.type === 'syslog' ? d.destination.host : '']),
    [['siem', 'user', 'mine.example']],
  );
  assert.deepEqual(overrides, []);
});

test('with lock auditDestinations the user can neither change nor remove a managed destination', () => {
  const policy = managed(
    JSON.stringify({ lock: ['auditDestinations'], auditDestinations: { siem, collector } }),
  );
  const user = config({
    siem: { ...siem, host: 'mine.example' },
    collector: { ...collector, disabled: true },
    own: { type: 'otlp', endpoint: 'http://127.0.0.1:4318/v1/logs' },
  });
  const { destinations, overrides } = destinationsInForce(user, [policy]);
  assert.deepEqual(
    destinations.map((d) => [d.name, d.source, d.locked]),
    [
      ['collector', 'managed', true],
      ['own', 'user', false],
      ['siem', 'managed', true],
    ],
  );
  assert.equal((destinations[2]!.destination as typeof siem).host, 'siem.example');
  assert.deepEqual(
    overrides.map((o) => o.name),
    ['siem', 'collector'],
  );
  assert.match(overrides[0]!.note, /managed policy sets and locks this destination/);
});

test("only the managed policy sets destinations: an org policy's are not in force", () => {
  const org: PolicySource = {
    kind: 'org',
    origin: 'https://policy.example',
    document: { auditDestinations: { siem } },
  };
  assert.deepEqual(destinationsInForce(config({}), [org]).destinations, []);
});

test('header secret references are filled from the keychain; a missing one names the destination and secret', async () => {
  const store = {
    get: (name: string) => Promise.resolve(name === 'OTLP_TOKEN' ? 's3cret' : undefined),
    set: () => Promise.resolve(),
    delete: () => Promise.resolve(false),
    list: () => Promise.resolve(['OTLP_TOKEN']),
  };
  assert.deepEqual(
    await resolveHeaders(
      'collector',
      { Authorization: 'Bearer ${secret:OTLP_TOKEN}', 'X-Team': 'ops' },
      store,
    ),
    { Authorization: 'Bearer s3cret', 'X-Team': 'ops' },
  );
  await assert.rejects(
    resolveHeaders('collector', { Authorization: 'Bearer ${secret:OTHER}' }, store),
    (error: unknown) =>
      isWardenError(error) &&
      error.code === 'SECRET_MISSING' &&
      /destination "collector" needs secret "OTHER"/.test(error.message),
  );
});
