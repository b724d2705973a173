import type { Client } from "aedes";
import type { Logger } from "../core/logger.ts";
import type { CredentialCache } from "./credential-cache.ts";

export type ClientRegistry = ReturnType<typeof createClientRegistry>;

/**
 * The live MQTT sessions of each account (vehicle or integration) on this node, so that a revoked
 * credential disconnects them (the API's revoke reaches every node over the control channel).
 */
export function createClientRegistry(deps: { credentials: CredentialCache; log: Logger }) {
  const byAccount = new Map<string, Set<Client>>();
  return {
    /** a session authenticated as `account` (hooks/authenticate.ts) */
    add(client: Client, account: string): void {
      const set = byAccount.get(account) ?? new Set<Client>();
      byAccount.set(account, set);
      set.add(client);
    },
    /** a session closed (hooks/client-disconnect.ts) */
    remove(client: Client): void {
      for (const [account, set] of byAccount) {
        if (set.delete(client) && set.size === 0) byAccount.delete(account);
      }
    },
    /** disconnects every live session of a vehicle and forgets its cached credential */
    revoke(vehicleId: string): void {
      deps.credentials.evict(vehicleId);
      const set = byAccount.get(vehicleId);
      if (!set) return;
      for (const client of set) client.close();
      byAccount.delete(vehicleId);
      deps.log.info({ vehicleId, sessions: set.size }, "vehicle sessions disconnected");
    },
  };
}
