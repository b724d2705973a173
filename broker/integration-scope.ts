import { subscribeAccessChanged } from "../core/access-changes.ts";
import { coalesced } from "../core/coalesced.ts";
import type { Logger } from "../core/logger.ts";
import type { Redis } from "../core/redis.ts";
import type { ClientRegistry } from "./client-registry.ts";
import type { CredentialCache } from "./credential-cache.ts";
import { getIdentity } from "./identity.ts";

/**
 * Keeps the vehicle Set of each live integration session current (hooks/authorize-forward.ts
 * filters by it): when any node announces that access changed (core/access-changes.ts), each
 * integration account with a session here is read again and its sessions' Sets replaced, so a
 * narrowed grant takes effect without a reconnect. One refresh at a time.
 */
export async function startIntegrationScope(deps: {
  subscriber: Redis;
  credentials: CredentialCache;
  clients: ClientRegistry;
  log: Logger;
}): Promise<() => Promise<void>> {
  const { credentials, clients, log } = deps;

  async function refresh(): Promise<void> {
    for (const [name, sessions] of clients.sessions()) {
      const integrations = [...sessions].filter((c) => getIdentity(c)?.kind === "integration");
      if (integrations.length === 0) continue;
      credentials.evict(name);
      const account = await credentials.get(name);
      // a deleted account's sessions are ended by its revocation; until then they receive nothing
      const vehicles =
        account?.kind === "integration" ? account.vehicles && new Set(account.vehicles) : new Set<string>();
      for (const c of integrations) {
        const identity = getIdentity(c);
        if (identity?.kind === "integration") identity.vehicles = vehicles;
      }
    }
  }

  const changed = coalesced(refresh, (err) => log.error({ err }, "integration access not refreshed"));

  return subscribeAccessChanged(deps.subscriber, log, changed.trigger);
}
