/**
 * A tool name offered to one client by more than one server. `client` is the client's
 * `clientInfo.name`; `servers` are config names, sorted.
 */
export interface Shadow {
  client: string;
  tool: string;
  servers: string[];
}

/**
 * Tool shadowing: which servers offer which tool names to each client, and the names offered by
 * more than one. A server can name a tool like another server's to receive the calls (and the
 * arguments) meant for it ("tool shadowing" in the tool-poisoning research by Invariant Labs).
 * Kept in memory, per client name (not per session); nothing is hidden, only reported.
 */
export class ShadowTracker {
  /** client -> server -> tool names */
  readonly #byClient = new Map<string, Map<string, Set<string>>>();

  /**
   * Records the tool names a server now offers a client, replacing what it offered before
   * (an empty list forgets the server for that client).
   * @returns the shadows of that client that involve this server, sorted by tool name.
   */
  observe(client: string, server: string, toolNames: readonly string[]): Shadow[] {
    let servers = this.#byClient.get(client);
    if (!servers) {
      servers = new Map<string, Set<string>>();
      this.#byClient.set(client, servers);
    }
    if (toolNames.length > 0) servers.set(server, new Set(toolNames));
    else servers.delete(server);
    if (servers.size === 0) this.#byClient.delete(client);
    return this.shadows(client).filter((s) => s.servers.includes(server));
  }

  /** The current shadows of one client, or of all clients, sorted by client and tool name. */
  shadows(client?: string): Shadow[] {
    const result: Shadow[] = [];
    const clients = [...this.#byClient.keys()].filter((c) => client === undefined || c === client).sort();
    for (const name of clients) {
      const owners = new Map<string, string[]>();
      for (const [server, tools] of this.#byClient.get(name) ?? []) {
        for (const tool of tools) owners.set(tool, [...(owners.get(tool) ?? []), server]);
      }
      const tools = [...owners.keys()].sort();
      for (const tool of tools) {
        const servers = owners.get(tool) ?? [];
        if (servers.length > 1) result.push({ client: name, tool, servers: servers.sort() });
      }
    }
    return result;
  }
}
