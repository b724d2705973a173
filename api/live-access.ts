import type pg from "pg";
import { subscribeAccessChanged } from "../core/access-changes.ts";
import type { SessionOwner } from "../core/account-admin.ts";
import type { GroupScope } from "../core/api-tokens.ts";
import { coalesced } from "../core/coalesced.ts";
import type { Logger } from "../core/logger.ts";
import type { Redis } from "../core/redis.ts";
import { groupScopeOf, vehiclesInGroups } from "../core/vehicle-groups.ts";
import type { LiveHub, LiveSocket } from "./live-hub.ts";

/**
 * What each open /ws socket may see (issue 17): a Set of vehicle ids per socket of an account
 * limited to groups, read once at the upgrade and again whenever any node announces that access
 * changed (core/access-changes.ts). The hub checks a position or event against the Set (one
 * lookup); nothing is read per message. Sockets of accounts that see every vehicle carry none.
 */
export function createLiveAccess(deps: { pool: pg.Pool; subscriber: Redis; hub: LiveHub; log: Logger }) {
  const { pool, hub, log } = deps;
  const owners = new Map<LiveSocket, SessionOwner>();
  let unsubscribe: (() => Promise<void>) | undefined;

  const setOf = async (groups: GroupScope): Promise<ReadonlySet<string> | null> =>
    groups === null ? null : vehiclesInGroups(pool, groups);

  async function refreshAll(): Promise<void> {
    // read once per account, not per socket: a user may hold several
    const byOwner = new Map<string, ReadonlySet<string> | null>();
    for (const [socket, owner] of owners) {
      const key = JSON.stringify(owner);
      let vehicles = byOwner.get(key);
      if (vehicles === undefined) {
        const groups = await groupScopeOf(pool, owner);
        // a deleted account's sockets are closed by its revocation; until then they see nothing
        vehicles = groups === undefined ? new Set<string>() : await setOf(groups);
        byOwner.set(key, vehicles);
      }
      hub.setVehicles(socket, vehicles);
    }
  }

  const changed = coalesced(refreshAll, (err) => log.error({ err }, "live access not refreshed"));

  return {
    async start(): Promise<void> {
      unsubscribe = await subscribeAccessChanged(deps.subscriber, log, changed.trigger);
    },
    stop(): void {
      // not awaited: with Redis down the command would wait for it; the owner disconnects anyway
      unsubscribe?.().catch(() => {});
    },
    /** The vehicles a new socket of a caller with these groups may see (null: every vehicle). */
    vehiclesFor: setOf,
    /** Keeps a non-admin socket's Set current until it closes (a grant may limit it later). */
    track(socket: LiveSocket & { once(event: "close", l: () => void): unknown }, owner: SessionOwner): void {
      owners.set(socket, owner);
      socket.once("close", () => owners.delete(socket));
    },
    /** for tests: resolves when a refresh under way is done */
    settled: changed.settled,
  };
}

export type LiveAccess = ReturnType<typeof createLiveAccess>;
