import type { AuditDestination, PolicySource } from '../config/policy-schema.ts';
import type { WardenConfig } from '../config/schema.ts';

/** One destination in force: its name, settings and which source set it. */
export interface DestinationInForce {
  name: string;
  destination: AuditDestination;
  /** `managed` when the managed policy set it (and the user did not replace it), else `user`. */
  source: 'managed' | 'user';
  /** Whether the managed policy locks it (`lock: ["auditDestinations"]`). */
  locked: boolean;
}

/** What the user's config tried and a lock refused: told in the daemon log. */
export interface DestinationOverride {
  name: string;
  /** e.g. `the user's "disabled": true is ignored: the managed policy locks audit destinations`. */
  note: string;
}

/**
 * The audit destinations in force, sorted by name, from the managed policy's `auditDestinations`
 * and the user's `audit.destinations`.
 *
 * A name only the user has is the user's. A name the managed policy sets is the managed one;
 * without the lock the user's entry of the same name replaces it (or, with `"disabled": true`,
 * turns it off); with `lock: ["auditDestinations"]` the user's entry is ignored (and reported in
 * `overrides`), so a user can neither remove nor change a destination IT set. Disabled entries
 * are left out. Only the managed source may set destinations (an org policy's are ignored, as
 * its `lock` is).
 */
export function destinationsInForce(
  config: Pick<WardenConfig, 'auditDestinations'>,
  sources: readonly PolicySource[],
): { destinations: DestinationInForce[]; overrides: DestinationOverride[] } {
  const managed = sources.find((source) => source.kind === 'managed')?.document;
  const locked = managed?.lock?.includes('auditDestinations') ?? false;
  const byName = new Map<string, DestinationInForce>();
  const overrides: DestinationOverride[] = [];
  for (const [name, destination] of Object.entries(managed?.auditDestinations ?? {}))
    byName.set(name, { name, destination, source: 'managed', locked });
  for (const [name, destination] of Object.entries(config.auditDestinations)) {
    const existing = byName.get(name);
    if (existing?.locked) {
      overrides.push({
        name,
        note: `the user's audit.destinations entry "${name}" is ignored: the managed policy sets and locks this destination`,
      });
      continue;
    }
    byName.set(name, { name, destination, source: 'user', locked: false });
  }
  const destinations = [...byName.values()]
    .filter((d) => d.destination.disabled !== true)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { destinations, overrides };
}
