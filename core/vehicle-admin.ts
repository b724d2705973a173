import type pg from "pg";
import { publishRevoke } from "./control.ts";
import type { ExternalBrokerKick } from "./external-broker-kick.ts";
import { removeLiveState } from "./live-state.ts";
import type { Redis } from "./redis.ts";
import {
  addVehicle,
  type DeviceCredentials,
  type NewVehicle,
  removeVehicle,
  rotateCredentials,
} from "./vehicles.ts";

export interface VehicleAdminDeps {
  pool: pg.Pool;
  /**
   * the brokers' control channel (core/control.ts). Undefined only for a tool run without
   * REDIS_URL (the simulator): no revoke is sent, and a session with an old secret lives on
   * until it reconnects
   */
  redis: Redis | undefined;
  /** a revoke that fails is dropped instead of thrown (the database change stands); default false */
  revokeBestEffort?: boolean;
  /** external-broker mode: ends the sessions the external broker holds (never rejects) */
  externalBroker?: ExternalBrokerKick | undefined;
}

export interface VehicleAdmin {
  /** Registers a vehicle; its MQTT credentials exist only in the return value. Throws VehicleExistsError. */
  register(v: NewVehicle): Promise<DeviceCredentials>;
  /** Issues a new secret and ends the live sessions that used the old one. Undefined: no such vehicle. */
  rotate(id: string): Promise<DeviceCredentials | undefined>;
  /** Deletes the vehicle (its history stays), ends its live sessions, forgets its live position. */
  remove(id: string): Promise<boolean>;
  /**
   * After a status change: a vehicle set inactive may no longer connect (getMqttAccount), so its
   * live sessions end; one set active again must not wait for the brokers' cached refusal to lapse.
   */
  statusChanged(id: string, was: string | undefined, now: string): Promise<void>;
  /**
   * After an IMEI change: the brokers' and bridges' IMEI caches forget the vehicle (a Teltonika
   * device with the old IMEI is refused, one with the new one served at once) and its sessions,
   * whose topic rights include `{imei}/data`, end.
   */
  imeiChanged(id: string, was: string | null, now: string | null): Promise<void>;
}

/**
 * Vehicle administration for every way in (API routes, scripts/cli.ts, the simulator): each
 * operation does the database change (core/vehicles.ts), tells the brokers, and cleans up the live
 * state, together, so that no caller can leave one of them out.
 */
export function createVehicleAdmin(deps: VehicleAdminDeps): VehicleAdmin {
  const { pool, redis } = deps;

  async function revoke(id: string): Promise<void> {
    await deps.externalBroker?.kick(id);
    if (!redis) return;
    const sent = publishRevoke(redis, id);
    await (deps.revokeBestEffort ? sent.catch(() => 0) : sent);
  }

  return {
    // a new vehicle has no session to end; a refusal a broker cached before lapses within seconds
    register: (v) => addVehicle(pool, v),

    async rotate(id) {
      const creds = await rotateCredentials(pool, id);
      if (creds) await revoke(id);
      return creds;
    },

    async remove(id) {
      if (!(await removeVehicle(pool, id))) return false;
      await revoke(id);
      if (redis) await removeLiveState(redis, id);
      return true;
    },

    async statusChanged(id, was, now) {
      if (now !== was && (now === "inactive" || was === "inactive")) await revoke(id);
    },

    async imeiChanged(id, was, now) {
      if (now !== was) await revoke(id);
    },
  };
}
