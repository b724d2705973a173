import type { Aedes } from "aedes";
import type { ClientRegistry } from "../client-registry.ts";

/** Aedes "clientDisconnect": a closed session no longer counts among its vehicle's (revoke). */
export function forgetOnDisconnect(aedes: Aedes, clients: Pick<ClientRegistry, "remove">): void {
  aedes.on("clientDisconnect", (client) => clients.remove(client));
}
