import type { Client } from "aedes";
import type { Logger } from "../core/logger.ts";
import type { CredentialCache } from "./credential-cache.ts";
import { getIdentity, type Identity } from "./identity.ts";

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
    /** the live sessions of every account, by account name */
    sessions(): ReadonlyMap<string, ReadonlySet<Client>> {
      return byAccount;
    },
    /** a session closed (hooks/client-disconnect.ts) */
    remove(client: Client): void {
      for (const [account, set] of byAccount) {
        if (set.delete(client) && set.size === 0) byAccount.delete(account);
      }
    },
    /**
     * Disconnects every live session of an account (a vehicle id or an integration name; `kind`
     * keeps a deleted integration from ending a vehicle's sessions of the same name) and forgets
     * its cached credential.
     */
    revoke(account: string, kind?: Identity["kind"]): void {
      deps.credentials.evict(account);
      const set = byAccount.get(account);
      if (!set) return;
      let closed = 0;
      for (const client of set) {
        if (kind && getIdentity(client)?.kind !== kind) continue;
        set.delete(client);
        client.close();
        closed++;
      }
      if (set.size === 0) byAccount.delete(account);
      deps.log.info({ account, kind, sessions: closed }, "account sessions disconnected");
    },
  };
}
