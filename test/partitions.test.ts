import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../core/logger.ts";
import type { DeviceCredentials } from "../core/vehicles.ts";
import { maintainPartitions } from "../worker/maintenance.ts";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { waitFor } from "./support/wait.ts";

const DAY = 86_400_000;
const log = createLogger("test", "silent");

describe("vehicle_locations partitions", () => {
  let p: TestPlatform;
  const partitions = async () =>
    (
      await p.pool.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'vehicle_locations'::regclass ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  const nameOf = (t: number) =>
    `vehicle_locations_p${new Date(t).toISOString().slice(0, 10).replaceAll("-", "")}`;

  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(() => p?.close());

  it("stores a fix for a day that had no partition, creating it on demand", async () => {
    const day = Date.now() - 40 * DAY;
    expect(await partitions()).not.toContain(nameOf(day));
    const [creds] = await p.register("part", 1);
    const client = await p.connect(creds as DeviceCredentials);
    await client.publishAsync(
      `fleet/${creds?.id}/location`,
      JSON.stringify({ lat: 25, lng: 55, recordedAt: day }),
      { qos: 1 },
    );
    await waitFor(
      () => p.rowCount(),
      (n) => n === 1,
      { what: "the old fix stored" },
    );
    expect(await partitions()).toContain(nameOf(day));
  });

  it("creates partitions ahead and drops those past retention", async () => {
    const now = Date.now();
    await p.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(now - 100 * DAY)]);
    const result = await maintainPartitions(p.pool, { unit: "day", ahead: 7, retentionDays: 90, now }, log);
    const names = await partitions();
    for (let d = 0; d <= 7; d++) expect(names).toContain(nameOf(now + d * DAY));
    expect(result.dropped).toEqual([nameOf(now - 100 * DAY)]);
    expect(names).not.toContain(nameOf(now - 100 * DAY));
    expect(names).toContain(nameOf(now - 40 * DAY));
  });
});
