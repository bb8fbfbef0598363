import { z } from 'zod';
import { policyDocumentSchema } from './policy-schema.ts';
import { wardenConfigDocumentSchema } from './schema.ts';

/**
 * The config file's JSON Schema (draft 2020-12), generated from the zod schema so the two never
 * disagree; shipped as resources/config.schema.json for editors. Cross-field rules (command
 * xor url) are enforced by Warden itself, not expressed here.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(wardenConfigDocumentSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'MCP Warden config',
  };
}

/**
 * The policy document's JSON Schema (managed policy file, org policy, the config's `policy`
 * key); shipped as resources/policy.schema.json.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policyDocumentSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'MCP Warden policy',
  };
}
