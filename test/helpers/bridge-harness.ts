/**
 * A BridgeSession in the middle of two in-process MCP peers, over the SDK's InMemoryTransport:
 * a real SDK Client downstream, a real SDK McpServer upstream (a new one for each link the
 * session opens), and the session's ports (tool catalog, guard, call audit, upstream link)
 * given by the test: real parts or recording stand-ins.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { AuditCallEnd, AuditCallStart } from '../../main/core/audit/audit-log.ts';
import { BridgeSession } from '../../main/core/bridge/session.ts';
import type { CallAuditPort, SessionPorts, UpstreamPort } from '../../main/core/bridge/session-ports.ts';
import type { UpstreamLink } from '../../main/core/bridge/upstream-link.ts';
import { CircuitBreaker } from '../../main/core/bridge/circuit-breaker.ts';
import type { ServerConfig } from '../../main/core/config/schema.ts';
import { silentLogger, type Logger } from '../../main/core/log.ts';
import type { ApprovalBroker, ApprovalRequest } from '../../main/core/approvals/broker.ts';

/** A configured stdio server that is never spawned (its link is in memory). */
export function inMemoryServerConfig(
  name = 'mem',
  tools: ServerConfig['tools'] = { deny: [] },
): ServerConfig {
  return { kind: 'stdio', name, command: 'in-memory-server', args: [], env: {}, tools };
}

/** One thing the session told its call audit port, in order. */
export type AuditEvent =
  | { kind: 'call'; id: number; start: AuditCallStart }
  | { kind: 'outcome'; id: number; end: AuditCallEnd }
  | { kind: 'refusal'; id: number; start: AuditCallStart; error: string };

/** A call audit port that records what it is told (and can be made to fail). */
export interface RecordingAudit extends CallAuditPort {
  readonly events: AuditEvent[];
  /** When set, recordCall throws this (the audit log cannot record). */
  failWith: Error | undefined;
}

export function recordingAudit(policyVersion?: string): RecordingAudit {
  let next = 1;
  const audit: RecordingAudit = {
    events: [],
    failWith: undefined,
    recordCall(start) {
      if (audit.failWith) throw audit.failWith;
      const id = next++;
      audit.events.push({ kind: 'call', id, start });
      return id;
    },
    recordOutcome(id, end) {
      audit.events.push({ kind: 'outcome', id, end });
    },
    recordRefusal(start, error) {
      const id = next++;
      audit.events.push({ kind: 'refusal', id, start, error });
      return id;
    },
    policyVersion: () => policyVersion,
  };
  return audit;
}

/**
 * An upstream port whose links are InMemoryTransports to a fresh McpServer from `makeServer`
 * (the session's supervisor opens a new link on every (re)start). `servers` holds them in order.
 */
export function inMemoryUpstream(makeServer: () => McpServer): UpstreamPort & { servers: McpServer[] } {
  const servers: McpServer[] = [];
  return {
    servers,
    createLink(): UpstreamLink {
      const [ours, theirs] = InMemoryTransport.createLinkedPair();
      let closing = false;
      const link: UpstreamLink = {
        async start() {
          ours.onmessage = (message) => link.onmessage?.(message);
          ours.onclose = () => {
            if (!closing) link.onclose?.('the in-memory server closed the connection');
          };
          const server = makeServer();
          servers.push(server);
          await server.connect(theirs);
          await ours.start();
        },
        send: (message) => ours.send(message),
        async close() {
          closing = true;
          await ours.close();
        },
        setProtocolVersion: () => undefined,
      };
      return link;
    },
    backoff: () => 0,
  };
}

export interface SessionHarness {
  client: Client;
  session: BridgeSession;
  /** Every message the session sent downstream, with the request it was routed to. */
  downstream: { message: JSONRPCMessage; relatedRequestId?: RequestId }[];
  /** Requests whose response stream the session ended without an answer (cancelled). */
  closedStreams: RequestId[];
  close(): Promise<void>;
}

/**
 * Opens a BridgeSession over `ports` and connects an SDK Client to it (initialize goes
 * through the session to the upstream).
 */
export async function connectThroughSession(options: {
  ports: SessionPorts;
  server?: ServerConfig;
  clientName?: string;
  logger?: Logger;
}): Promise<SessionHarness> {
  const [clientSide, sessionSide] = InMemoryTransport.createLinkedPair();
  const downstream: SessionHarness['downstream'] = [];
  const closedStreams: RequestId[] = [];
  const session = new BridgeSession({
    ...options.ports,
    server: options.server ?? inMemoryServerConfig(),
    downstream: {
      send: async (message, sendOptions) => {
        downstream.push({ message, ...(sendOptions ?? {}) });
        await sessionSide.send(message, sendOptions);
      },
      closeRequestStream: (id) => closedStreams.push(id),
    },
    sessionId: () => 'session-1',
    breaker: new CircuitBreaker(),
    logger: options.logger ?? silentLogger(),
  });
  sessionSide.onmessage = (message) => void session.fromDownstream(message);
  await sessionSide.start();
  const client = new Client({ name: options.clientName ?? 'harness-client', version: '7.8.9' });
  await client.connect(clientSide);
  return {
    client,
    session,
    downstream,
    closedStreams,
    async close() {
      await client.close();
      await session.close();
    },
  };
}

/** Resolves with the next call the broker holds for a person. */
export function nextHeldCall(broker: ApprovalBroker): Promise<ApprovalRequest> {
  return new Promise((resolve) => {
    const stop = broker.subscribe((event) => {
      if (event.type !== 'requested') return;
      stop();
      resolve(event.request);
    });
  });
}

/** A temporary directory for a test's SQLite files; `cleanup` removes it. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bridge-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
