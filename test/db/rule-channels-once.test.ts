import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { migratedDatabase } from "../support/services.ts";

/** sql/019_rule_channels_once.sql on rules stored before the API refused a repeated channel. */
describe("migration 019: a rule names each channel once", () => {
  const db = migratedDatabase();

  it("keeps each channel at its first place, leaves other rules and the rule's versions alone", async () => {
    const pool = db.pool();
    const add = async (name: string, channels: number[]) =>
      (
        await pool.query<{ id: string }>(
          "INSERT INTO alert_rules (name, kind, channel_ids) VALUES ($1, 'idling', $2) RETURNING id",
          [name, channels],
        )
      ).rows[0]?.id;
    const repeated = await add("repeated", [3, 1, 3, 2, 1]);
    const plain = await add("plain", [2, 1]);
    const versions = async () =>
      (await pool.query("SELECT count(*)::int AS n FROM alert_rule_versions")).rows[0].n;
    const before = await versions();
    // the migration's own statement, as node-pg-migrate runs it: the Up part of the file
    const sql = readFileSync(new URL("../../sql/019_rule_channels_once.sql", import.meta.url), "utf8");
    await pool.query(sql.split("-- Down Migration")[0] as string);
    const channels = async (id: string | undefined) =>
      (await pool.query("SELECT channel_ids::int[] AS c FROM alert_rules WHERE id = $1", [id])).rows[0].c;
    expect(await channels(repeated)).toEqual([3, 1, 2]);
    expect(await channels(plain)).toEqual([2, 1]);
    expect(await versions()).toBe(before);
  });
});
