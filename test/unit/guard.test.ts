import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerConfig } from '../../main/core/config/schema.ts';
import { GuardChain, type ToolCallContext } from '../../main/core/guard/chain.ts';
import { ToolLists, ToolListsStep } from '../../main/core/guard/tool-lists.ts';

const server = (tools: ServerConfig['tools']): ServerConfig => ({
  kind: 'stdio',
  name: 'fs',
  command: 'x',
  args: [],
  env: {},
  tools,
});
const call = (tool: string): ToolCallContext => ({
  sessionId: 's',
  client: {},
  server: 'fs',
  tool,
  arguments: {},
  requestId: 1,
});

test('deny globs hide tools; deny wins over allow', () => {
  const lists = new ToolLists(server({ allow: ['read_*', 'write_file'], deny: ['write_*'] }), 'config.json');
  assert.equal(lists.isVisible('read_file'), true);
  assert.equal(lists.isVisible('write_file'), false);
  assert.equal(lists.isVisible('list_directory'), false);
  assert.match(
    lists.blockReason('write_file')!,
    /tool "write_file" of server "fs" is on the deny list in config\.json/,
  );
  assert.match(lists.blockReason('list_directory')!, /is not on the allow list/);
});

test('without lists every tool is visible', () => {
  const lists = new ToolLists(server({ deny: [] }), 'c');
  assert.equal(lists.isVisible('anything'), true);
});

test('the chain denies what the tool lists hide and allows the rest by default', async () => {
  const chain = new GuardChain([new ToolListsStep(new ToolLists(server({ deny: ['edit_*'] }), 'c'))]);
  assert.deepEqual(await chain.decide(call('read_file')), { action: 'allow', by: 'default' });
  const denied = await chain.decide(call('edit_file'));
  assert.equal(denied.action, 'deny');
  assert.equal(denied.by, 'config tool lists');
});

test('a step that throws denies the call (fail closed), and later steps do not run', async () => {
  let reached = false;
  const chain = new GuardChain([
    { name: 'broken', decide: () => Promise.reject(new Error('policy store unavailable')) },
    { name: 'after', decide: () => ((reached = true), { action: 'allow', by: 'after' }) },
  ]);
  const decision = await chain.decide(call('x'));
  assert.equal(decision.action, 'deny');
  assert.match(
    decision.action === 'deny' ? decision.reason : '',
    /guard step "broken" failed \(policy store unavailable\)/,
  );
  assert.equal(reached, false);
});
