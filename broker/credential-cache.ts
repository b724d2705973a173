/**
 * MQTT account credential hashes (devices and integrations) cached in memory, so that a connect storm (every truck reconnecting
 * after a broker restart) costs one PostgreSQL query per device at most, and concurrent
 * connects of the same id share one query. Entries expire; a rotation or removal evicts at once
 * (core/control.ts).
 */
import type { MqttAccount } from "../core/vehicles.ts";

export type LoadAccount = (username: string) => Promise<MqttAccount | undefined>;

interface Entry {
  account: MqttAccount | undefined;
  expires: number;
}

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<MqttAccount | undefined>>();

  constructor(
    private readonly load: LoadAccount,
    private readonly ttlMs = 300_000,
    /** unknown ids are remembered briefly: a newly registered vehicle can connect soon after */
    private readonly negativeTtlMs = 5_000,
    private readonly maxEntries = 1_000_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(vehicleId: string): Promise<MqttAccount | undefined> {
    const hit = this.entries.get(vehicleId);
    if (hit && hit.expires > this.now()) return hit.account;
    const pending = this.loading.get(vehicleId);
    if (pending) return pending;
    const p = this.load(vehicleId).then(
      (account) => {
        this.loading.delete(vehicleId);
        if (this.entries.size >= this.maxEntries) this.entries.clear();
        this.entries.set(vehicleId, {
          account,
          expires: this.now() + (account ? this.ttlMs : this.negativeTtlMs),
        });
        return account;
      },
      (err: unknown) => {
        this.loading.delete(vehicleId);
        throw err;
      },
    );
    this.loading.set(vehicleId, p);
    return p;
  }

  evict(vehicleId: string): void {
    this.entries.delete(vehicleId);
  }
}
