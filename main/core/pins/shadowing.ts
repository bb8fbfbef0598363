/** A tool name offered to one client by more than one server. */
export interface Shadow {
  client: string;
  tool: string;
  servers: string[];
}

/**
 * Tracks, per client (clientInfo name), which servers offer which tool names, and reports names
 * offered by more than one: a server can shadow another's tool to intercept calls meant for it.
 */
export class ShadowTracker {
  readonly #byClient = new Map<string, Map<string, Set<string>>>();

  /** Records a server's current tool names for a client; returns the shadows now present. */
  observe(client: string, server: string, toolNames: readonly string[]): Shadow[] {
    let servers = this.#byClient.get(client);
    if (!servers) {
      servers = new Map<string, Set<string>>();
      this.#byClient.set(client, servers);
    }
    servers.set(server, new Set(toolNames));
    return this.shadows(client).filter((s) => s.servers.includes(server));
  }

  /** Current shadows, for one client or all. */
  shadows(client?: string): Shadow[] {
    const result: Shadow[] = [];
    for (const [name, servers] of this.#byClient) {
      if (client !== undefined && name !== client) continue;
      const owners = new Map<string, string[]>();
      for (const [server, tools] of servers)
        for (const tool of tools) owners.set(tool, [...(owners.get(tool) ?? []), server]);
      for (const [tool, list] of owners)
        if (list.length > 1) result.push({ client: name, tool, servers: list.sort() });
    }
    return result;
  }
}
