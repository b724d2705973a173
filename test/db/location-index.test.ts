import { describe, expect, it } from "vitest";
import { migratedDatabase } from "../support/services.ts";

/** sql/020_drop_location_gist.sql: the history is indexed by vehicle and time only. */
describe("migration 020: the history keeps its primary key and no spatial index", () => {
  const db = migratedDatabase();

  it("a partition made after the migration has only its primary key", async () => {
    const pool = db.pool();
    await pool.query("SELECT ensure_location_partition(timestamptz '2031-05-04 12:00Z', 'day')");
    const r = await pool.query<{ table: string; def: string }>(
      `SELECT c.relname AS table, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_index i ON i.indrelid = c.oid
       WHERE h.inhparent = 'vehicle_locations'::regclass`,
    );
    const made = r.rows.filter((x) => x.table.includes("20310504"));
    expect(made).toHaveLength(1);
    expect(made[0]?.def).toMatch(/UNIQUE INDEX .* USING btree \(vehicle_id, recorded_at\)/);
    expect(r.rows.every((x) => !/gist/i.test(x.def))).toBe(true);
  });
});
