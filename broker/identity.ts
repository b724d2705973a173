import type { Client } from "aedes";

/** Who an MQTT connection is, decided once in `authenticate` and read by every ACL hook. */
export type Identity =
  | { kind: "device"; vehicleId: string; imei: string | null }
  | {
      kind: "integration";
      name: string;
      /** limited to groups: the vehicles it receives messages of (refreshed: integration-scope.ts) */
      vehicles: ReadonlySet<string> | null;
    }
  | { kind: "anonymous" };

export type DeviceIdentity = Extract<Identity, { kind: "device" }>;

const identities = new WeakMap<Client, Identity>();

export function setIdentity(client: Client, identity: Identity): void {
  identities.set(client, identity);
}

export function getIdentity(client: Client | null): Identity | undefined {
  return client ? identities.get(client) : undefined;
}
