/**
 * The operations table (main/core/control/operations.ts) and what is derived from it: paths
 * and their parameters, the UI's methods, and the path encoding the client and the daemon share
 * (property-based: any name survives the round trip, and no name reaches another route).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import {
  fillPath,
  operation,
  OPERATIONS,
  pathParams,
  pathPattern,
  REQUEST_OPERATIONS,
  UI_OPERATIONS,
  type OperationName,
} from '../../main/core/control/operations.ts';
import { WARDEN_API_METHODS } from '../../main/core/control/warden-api.ts';
import { decodeSegment } from '../../main/core/request-target.ts';

const NAMES = Object.keys(OPERATIONS) as OperationName[];

test('each method and path is one operation; every path parameter is filled by its request', () => {
  const routes = NAMES.map((name) => `${operation(name).method} ${operation(name).path}`);
  assert.equal(new Set(routes).size, routes.length, routes.join('\n'));
  for (const name of NAMES) {
    const spec = operation(name);
    const params = pathParams(spec.path);
    if (!params.length) continue;
    assert.ok(spec.request, `${name} has path parameters, so it says how its arguments fill them`);
    const args = (spec.args.def.items as z.ZodType[]).map((item) =>
      item.safeParse('a'.repeat(64)).success ? 'a'.repeat(64) : item.safeParse(7).success ? 7 : undefined,
    );
    const parts = (spec.request as (...a: unknown[]) => { params?: Record<string, unknown> })(...args);
    assert.deepEqual(Object.keys(parts.params ?? {}).sort(), [...params].sort(), name);
    const shape = (spec.params as { shape?: Record<string, unknown> } | undefined)?.shape;
    if (shape) assert.deepEqual(Object.keys(shape).sort(), [...params].sort(), `${name}: params schema`);
  }
});

test('the UI gets every request operation but those marked ui: false; events stay a stream', () => {
  assert.deepEqual(WARDEN_API_METHODS, UI_OPERATIONS);
  assert.ok(!(REQUEST_OPERATIONS as string[]).includes('events'));
  assert.deepEqual(
    REQUEST_OPERATIONS.filter((n) => !(UI_OPERATIONS as string[]).includes(n)),
    ['measureEventLoop', 'bindSecret', 'catalog'],
  );
  assert.ok((WARDEN_API_METHODS as string[]).includes('version'));
});

test('a filled path matches its own route only, and each parameter decodes back to the name', () => {
  const routes = NAMES.map((name) => ({ name, pattern: pathPattern(operation(name).path) }));
  const name = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
    .filter((s) => s !== '.' && s !== '..');
  fc.assert(
    fc.property(name, name, (a, b) => {
      for (const { name: op, pattern } of routes) {
        const spec = operation(op);
        const params = pathParams(spec.path);
        if (!params.length) continue;
        const values: Record<string, string> = {};
        params.forEach(
          (p, i) =>
            (values[p] = p === 'kind' ? 'tool' : p === 'id' && op === 'revokeRule' ? '12' : i ? b : a),
        );
        const url = `/api/v1${fillPath(spec.path, values, encodeURIComponent)}`;
        const match = pattern.exec(url);
        assert.ok(match, `${op}: ${url}`);
        assert.deepEqual(
          match.slice(1).map((s) => decodeSegment(s)),
          params.map((p) => values[p]),
        );
        const others = routes.filter((r) => r.pattern.test(url)).map((r) => operation(r.name).path);
        assert.deepEqual([...new Set(others)], [spec.path], url);
      }
    }),
  );
});
