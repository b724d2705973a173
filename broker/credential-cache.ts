/**
 * MQTT account credential hashes (devices and integrations) cached in memory
 * (core/loading-cache.ts): a connect storm (every truck reconnecting after a broker restart)
 * costs one PostgreSQL query per device at most, and concurrent connects of the same id share
 * one query. A rotation or removal evicts at once (core/control.ts).
 */
import { LoadingCache } from "../core/loading-cache.ts";
import type { MqttAccount } from "../core/vehicles.ts";

export type LoadAccount = (username: string) => Promise<MqttAccount | undefined>;

export class CredentialCache extends LoadingCache<string, MqttAccount> {
  constructor(load: LoadAccount) {
    super({ load });
  }
}
