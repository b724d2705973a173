import type { AedesOptions, Client } from "aedes";
import type { Admission } from "../limits/admission.ts";
import { deliverAtHighestQos } from "../overlapping-qos.ts";

export interface PreConnectDeps {
  admission: Pick<Admission, "takeConnectToken" | "limitSubscriberBuffer">;
  /** marks clients whose CONNECT has a zero-length id (refused with clean session 0 in authenticate) */
  emptyId: WeakSet<Client>;
}

/**
 * Aedes `preConnect`, once per CONNECT and before authenticate: takes the connect-rate token,
 * then wraps the client's delivery functions before Aedes captures them, the highest-QoS fix
 * first and the subscriber-buffer limit around it, so that the limit sees every delivery.
 */
export function createPreConnect(deps: PreConnectDeps): NonNullable<AedesOptions["preConnect"]> {
  return function preConnect(client, packet, callback) {
    deps.admission.takeConnectToken(client, packet);
    if (packet.clientId === "") deps.emptyId.add(client);
    deliverAtHighestQos(client);
    deps.admission.limitSubscriberBuffer(client);
    callback(null, true);
  };
}
