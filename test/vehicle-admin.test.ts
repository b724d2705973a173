import { execFile } from "node:child_process";
import { promisify } from "node:util";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveKeys } from "../core/live-state.ts";
import { type ApiHarness, startApi } from "./api/harness.ts";
import { withClientId } from "./support/client-id.ts";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { waitFor } from "./support/wait.ts";

const run = promisify(execFile);

/**
 * The two ways an operator removes a vehicle, `vehicle remove` (scripts/cli.ts) and
 * `DELETE /api/vehicles/:id`, must leave the same state behind: they share core/vehicle-admin.ts.
 */
describe("removing a vehicle from the CLI or the API", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let admin: { authorization: string };

  beforeAll(async () => {
    p = await startPlatform({ worker: false });
    h = await startApi({ platform: p });
    admin = h.bearer(h.adminToken);
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  const cli = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", "scripts/cli.ts", ...args], { env: p.env, encoding: "utf8" });

  /** What a vehicle leaves in PostgreSQL and in the live state. */
  async function traces(id: string) {
    const row = await p.pool.query("SELECT 1 FROM vehicles WHERE id = $1", [id]);
    return {
      row: row.rowCount,
      live: await p.redis.hget(liveKeys.live, id),
      liveTime: await p.redis.hget(liveKeys.liveTime, id),
      geo: (await p.redis.geopos(liveKeys.geo, id))[0] ?? null,
    };
  }

  /** A registered vehicle, connected, whose fix has reached the live state. */
  async function onTheMap(id: string) {
    const res = await h.app.inject({ method: "POST", url: "/api/vehicles", headers: admin, payload: { id } });
    expect(res.statusCode).toBe(201);
    const creds = res.json().credentials as { username: string; password: string };
    const client = await p.connect(creds);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await client.publishAsync(
      `fleet/${id}/location`,
      JSON.stringify({ lat: 25.2, lng: 55.27, recordedAt: Date.now() }),
      { qos: 1 },
    );
    await waitFor(
      () => traces(id),
      (t) => t.live !== null && t.liveTime !== null && t.geo !== null,
      { what: `${id} on the map` },
    );
    return { creds, client, closed };
  }

  const refused = (creds: { username: string; password: string }) =>
    mqtt.connectAsync(p.mqttUrl, withClientId({ ...creds, reconnectPeriod: 0, connectTimeout: 10_000 })).then(
      async (c: MqttClient) => {
        await c.endAsync(true);
        return false;
      },
      (err: Error) => /Bad username or password|Not authorized/i.test(err.message),
    );

  it("leaves no row, no live position, no live session, and refuses the old credentials", async () => {
    const viaCli = await onTheMap("adm-cli");
    const viaApi = await onTheMap("adm-api");

    await cli("vehicle", "remove", "adm-cli");
    const res = await h.app.inject({ method: "DELETE", url: "/api/vehicles/adm-api", headers: admin });
    expect(res.statusCode).toBe(204);

    await Promise.all([viaCli.closed, viaApi.closed]);
    const gone = { row: 0, live: null, liveTime: null, geo: null };
    for (const [id, v] of [
      ["adm-cli", viaCli],
      ["adm-api", viaApi],
    ] as const) {
      expect({ id, ...(await traces(id)) }).toEqual({ id, ...gone });
      expect(v.client.connected).toBe(false);
      expect(await refused(v.creds)).toBe(true);
    }
  });
});
