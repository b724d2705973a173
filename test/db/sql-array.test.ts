import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, type Pool } from "../../core/db.ts";
import { sqlArray } from "../../core/sql-array.ts";
import { createTestDatabase } from "../support/services.ts";
import { fix, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

// core/sql-array.ts: the array literals the worker passes as parameters, read back by PostgreSQL
describe("sqlArray", () => {
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, 1);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const read = async <T>(literal: string, type: string): Promise<T[]> =>
    (await pool.query<{ a: T[] }>(`SELECT $1::${type}[] AS a`, [literal])).rows[0]?.a as T[];

  it("gives back every string as one element, whatever it holds", async () => {
    const hostile = [
      "plain",
      "",
      "NULL",
      "null",
      'quote"inside',
      "back\\slash",
      '\\"',
      "a,b",
      "{nested}",
      "}",
      " padded ",
      "tab\there",
      "line\nbreak",
      '{"peak":1.5,"unit":"km/h"}',
      "ünïcödé ✓",
      '","injected',
    ];
    expect(await read<string>(sqlArray(hostile), "text")).toEqual(hostile);
    // as an element of jsonb[] too (a peak, a fix's attributes)
    const json = ['{"a":"b\\"c","d":[1,null]}', "null", '"s"'];
    expect(await read<unknown>(sqlArray(json), "jsonb")).toEqual([{ a: 'b"c', d: [1, null] }, null, "s"]);
  });

  it("writes numbers, booleans and NULLs as their columns read them", async () => {
    const floats = [
      0,
      -0,
      1.5,
      -273.15,
      25.123456789012,
      1e-7,
      1e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      null,
    ];
    const back = await read<number | null>(sqlArray(floats), "float8");
    expect(back.slice(0, 7)).toEqual([0, 0, 1.5, -273.15, 25.123456789012, 1e-7, 1e21]);
    expect(back[7]).toBeNaN();
    expect(back.slice(8)).toEqual([Number.POSITIVE_INFINITY, null]);
    // epoch milliseconds in bigint[] (pg reads int8 as text)
    expect(await read<string>(sqlArray([1765152000123, undefined, 0]), "bigint")).toEqual([
      "1765152000123",
      null,
      "0",
    ]);
    expect(await read<boolean | null>(sqlArray([true, false, null]), "boolean")).toEqual([true, false, null]);
    expect(await read<number>(sqlArray([]), "float8")).toEqual([]);
  });

  it("is refused, not rounded, where an integer column gets a fraction (as pg's own conversion was)", async () => {
    await expect(read<string>(sqlArray([1.5]), "bigint")).rejects.toThrow(
      /invalid input syntax for type bigint/,
    );
  });
});

// what a device chooses (its messageId, its attributes) goes through those literals into the history
describe("a batch with hostile device strings", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(async () => {
    await w?.close();
  });

  it("stores each fix whole: no string spills into a neighbour's element or column", async () => {
    const t0 = noonDaysAgo(1);
    const hostile = ['","injected', "back\\slash\\", "{}", "NULL", 'a"b"c'];
    const fixes = hostile.map((messageId, i) =>
      fix("hostile-1", t0 + i * 1000, 25 + i * 0.001, 55, {
        messageId,
        ...(i === 0 ? {} : { speed: i * 10 }),
        attributes: { note: messageId, q: '"', b: "\\" },
      }),
    );
    const result = await w.send(fixes);
    expect(result.inserted).toBe(hostile.length);
    const r = await w.pool.query<{ message_id: string; speed: number | null; attributes: unknown }>(
      "SELECT message_id, speed, attributes FROM vehicle_locations WHERE vehicle_id = 'hostile-1' ORDER BY recorded_at",
    );
    expect(r.rows.map((row) => row.message_id)).toEqual(hostile);
    expect(r.rows.map((row) => row.speed)).toEqual([null, 10, 20, 30, 40]);
    expect(r.rows.map((row) => row.attributes)).toEqual(hostile.map((note) => ({ note, q: '"', b: "\\" })));
  });
});
