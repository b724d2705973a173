import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOsmAnd, type OsmAndListener } from "../../api/osmand-listener.ts";
import { createLogger } from "../../core/logger.ts";
import { addVehicle } from "../../core/vehicles.ts";
import { simImei } from "../../simulator/credentials.ts";
import { type Protocol, startFleet, type VehicleCredentials } from "../../simulator/fleet.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

const TRUCKS = 3;
const FIXES = 30;

/**
 * `npm run simulate -- --protocol …`: each protocol's trucks against the real listeners (MQTT,
 * Teltonika TCP on the broker, OsmAnd HTTP), with coverage gaps so that backlogs travel too.
 */
describe("the simulator speaks every device protocol", () => {
  let p: TestPlatform;
  let osmand: OsmAndListener;

  beforeAll(async () => {
    p = await startPlatform({ env: { TELTONIKA_TCP_PORT: "0" } });
    osmand = await listenOsmAnd({
      port: 0,
      host: "127.0.0.1",
      pool: p.pool,
      bridge: p.bridge,
      redis: p.redis,
      subscriber: p.connection(),
      config: {
        MAX_PAYLOAD_BYTES: p.config.MAX_PAYLOAD_BYTES,
        HTTP_INGEST_RATE_LIMIT: 100_000,
        OSMAND_KEY_REFUSALS_PER_MINUTE: 1000,
      },
      log: createLogger("osmand-test", p.config.LOG_LEVEL),
    });
  });
  afterAll(async () => {
    await osmand?.close();
    await p?.close();
  });

  const urls = (): Record<Protocol, string> => ({
    native: p.mqttUrl,
    "teltonika-mqtt": p.mqttUrl,
    "teltonika-tcp": `tcp://127.0.0.1:${p.broker.ports.teltonika}`,
    osmand: `http://127.0.0.1:${osmand.port}/`,
  });

  for (const protocol of ["native", "teltonika-mqtt", "teltonika-tcp", "osmand"] as const) {
    it(`${protocol}: every fix generated is acknowledged and stored once`, async () => {
      const vehicles: VehicleCredentials[] = [];
      for (let i = 0; i < TRUCKS; i++) {
        const id = `sim-${protocol}-${i}`;
        const imei = simImei(id);
        vehicles.push({ ...(await addVehicle(p.pool, { id, imei })), imei });
      }
      const fleet = startFleet({
        url: urls()[protocol],
        protocol,
        vehicles,
        seed: protocol,
        rate: 10,
        coverageGaps: { meanEveryS: 0.3, minS: 0.3, maxS: 0.6 },
        maxFixes: FIXES,
        reconnect: { initialMs: 100, maxMs: 1000 },
      });
      await fleet.finished;
      const stats = await fleet.stop(20_000);
      expect(stats).toMatchObject({ generated: FIXES, sent: FIXES, acked: FIXES, errors: 0, rejected: 0 });
      const stored = await waitFor(
        async () =>
          (
            await p.pool.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id LIKE $1",
              [`sim-${protocol}-%`],
            )
          ).rows[0]?.n ?? 0,
        (n) => n >= FIXES,
        { timeoutMs: 30_000, what: `${FIXES} ${protocol} fixes stored` },
      );
      expect(stored).toBe(FIXES);
    });
  }
});
