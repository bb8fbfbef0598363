import { z } from 'zod';
import { wardenConfigSchema } from './schema.ts';

/**
 * The config file's JSON Schema (draft 2020-12), generated from the zod schema so the two never
 * disagree; shipped as resources/config.schema.json for editors. Cross-field rules (command
 * xor url) are enforced by Warden itself, not expressed here.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(wardenConfigSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'MCP Warden config',
  };
}
