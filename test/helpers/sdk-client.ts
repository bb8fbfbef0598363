import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { connectArgs, mcpEndpointPath } from '../../main/core/config/server-name.ts';
import { CLI } from './warden-env.ts';

/** An SDK Client connected straight to the daemon's Streamable HTTP endpoint for `server`. */
export async function httpClient(
  url: string,
  token: string,
  server: string,
  name = 'test-http-client',
): Promise<Client> {
  const client = new Client({ name, version: '1.2.3' });
  const transport = new StreamableHTTPClientTransport(new URL(mcpEndpointPath(server), url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

/** An SDK Client that spawns `mcp-warden connect <server>` as a stdio client would. */
export async function shimClient(
  env: NodeJS.ProcessEnv,
  server: string,
  name = 'test-stdio-client',
): Promise<{ client: Client; stderr: () => string }> {
  const client = new Client({ name, version: '4.5.6' });
  const transport = new StdioClientTransport({
    command: CLI,
    args: connectArgs(server),
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await client.connect(transport);
  } catch (error) {
    // When the shim exited before answering, what it said is the first thing to read; an error
    // it answered with is thrown as it is.
    if (error instanceof McpError && error.code === (ErrorCode.ConnectionClosed as number))
      throw new Error(`the connect shim exited during initialize; its stderr: ${stderr || '(none)'}`, {
        cause: error,
      });
    throw error;
  }
  return { client, stderr: () => stderr };
}

/** tools/call through a Client without re-validating structuredContent against outputSchema. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  timeout?: number,
): Promise<CallToolResult> {
  return client.request(
    { method: 'tools/call', params: { name, arguments: args } },
    CallToolResultSchema,
    timeout ? { timeout } : undefined,
  );
}

/** The concatenated text content of a tool result. */
export function resultText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}
