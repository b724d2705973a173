import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMPORT_MAX_BYTES, IMPORT_MAX_ROWS } from "../../api/routes/vehicle-import.ts";
import { addVehicle, getVehicle } from "../../core/vehicles.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("vehicle CSV import and export", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  let viewer: { authorization: string };

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
    viewer = h.bearer(h.viewerToken);
    await addVehicle(h.pool, { id: "imp-existing", imei: "356307042440001" });
  });
  afterAll(() => h?.close());

  const upload = (csv: string, dryRun: boolean, headers: Record<string, string> = admin) =>
    h.app.inject({
      method: "POST",
      url: `/api/vehicles/import?dryRun=${dryRun}`,
      headers: { ...headers, "content-type": "text/csv" },
      payload: csv,
    });

  const FILE = [
    "id,name,plate,imei",
    "imp-1,Truck one,D 1,356307042440011",
    '"imp-2","Truck, two","D ""2""",',
    "bad id,Truck three,,",
    "imp-4,,,12ab",
    "imp-1,again,,",
    "imp-existing,,,",
    "imp-7,,,356307042440001",
    "",
  ].join("\r\n");

  it("a dry run answers per row and creates nothing", async () => {
    const res = await upload(FILE, true);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ dryRun: true, rows: 7, created: 0, valid: 2, failed: 5 });
    expect(body.items.map((i: { line: number; result: string }) => [i.line, i.result])).toEqual([
      [2, "valid"],
      [3, "valid"],
      [4, "invalid"],
      [5, "invalid"],
      [6, "duplicate"],
      [7, "exists"],
      [8, "exists"],
    ]);
    expect(body.items[2].error).toMatch(/^id: /);
    expect(body.items[3].error).toBe("imei: must be 8 to 20 digits");
    expect(body.items[6].error).toMatch(/IMEI/);
    expect(body.items[0]).not.toHaveProperty("credentials");
    expect(await getVehicle(h.pool, "imp-1")).toBeUndefined();
    expect(await getVehicle(h.pool, "imp-2")).toBeUndefined();
  });

  it("an import creates the good rows, reports the bad ones, and answers each new secret once", async () => {
    const res = await upload(FILE, false);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ dryRun: false, rows: 7, created: 2, valid: 2, failed: 5 });
    expect(body.items[0]).toMatchObject({
      id: "imp-1",
      result: "created",
      credentials: { username: "imp-1" },
    });
    expect(body.items[0].credentials.password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await getVehicle(h.pool, "imp-2")).toMatchObject({
      name: "Truck, two",
      plate: 'D "2"',
      imei: null,
    });
    expect(await getVehicle(h.pool, "imp-1")).toMatchObject({ name: "Truck one", imei: "356307042440011" });
    // the same file again: nothing new, every good row now exists
    const again = (await upload(FILE, false)).json();
    expect(again).toMatchObject({ created: 0, failed: 7 });
  });

  it("refuses a file without the header, not CSV, not text/csv, too many rows or too many bytes", async () => {
    const noHeader = await upload("imp-x,name\n", true);
    expect(noHeader.statusCode).toBe(400);
    expect(noHeader.json().message).toMatch(/first line must name the columns/);
    const unknown = await upload("id,colour\nimp-x,red\n", true);
    expect(unknown.json().message).toMatch(/unknown: colour/);
    const open = await upload('id\n"imp-x\n', true);
    expect(open.statusCode).toBe(400);
    expect(open.json().message).toMatch(/not valid CSV: line 2: a quoted field is not closed/);
    const json = await h.app.inject({
      method: "POST",
      url: "/api/vehicles/import?dryRun=true",
      headers: admin,
      payload: { id: "imp-json" },
    });
    expect(json.statusCode).toBe(415);
    expect(json.json().code).toBe("E_UNSUPPORTED_MEDIA_TYPE");
    const rows = ["id", ...Array.from({ length: IMPORT_MAX_ROWS + 1 }, (_, i) => `many-${i}`)].join("\n");
    const many = await upload(rows, false);
    expect(many.statusCode).toBe(413);
    expect(many.json().message).toBe(`at most ${IMPORT_MAX_ROWS} rows per import`);
    expect(await getVehicle(h.pool, "many-0")).toBeUndefined();
    const big = await upload(`id,name\nimp-big,${"x".repeat(IMPORT_MAX_BYTES)}\n`, true);
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe("E_PAYLOAD_TOO_LARGE");
  });

  it("is for admins only: a viewer is refused (403) and nothing is created", async () => {
    const res = await upload("id\nimp-viewer\n", false, viewer);
    expect(res.statusCode).toBe(403);
    expect(await getVehicle(h.pool, "imp-viewer")).toBeUndefined();
  });

  it("exports every vehicle as CSV, defusing formula cells, and the export imports back", async () => {
    await addVehicle(h.pool, { id: "exp-formula", name: "=HYPERLINK(1)", plate: "@x" });
    for (let i = 0; i < 1005; i++) await addVehicle(h.pool, { id: `exp-${String(i).padStart(4, "0")}` });
    const res = await h.app.inject({ url: "/api/vehicles/export.csv", headers: viewer });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toBe('attachment; filename="vehicles.csv"');
    const lines = res.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe("id,name,plate,imei,status,createdAt");
    const count = (await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM vehicles")).rows[0]?.n;
    // more than one page of the registry
    expect(lines.length - 1).toBe(count);
    expect(count).toBeGreaterThan(1005);
    const formula = lines.find((l) => l.startsWith("exp-formula,"));
    expect(formula).toMatch(/^exp-formula,'=HYPERLINK\(1\),'@x,,active,/);
    // the exported file, as a dry run: every row exists, and the formula cell reads back as it was
    await h.pool.query("DELETE FROM vehicles WHERE id = 'exp-formula'");
    const back = (await upload(res.body, false)).json();
    expect(back.created).toBe(1);
    expect(await getVehicle(h.pool, "exp-formula")).toMatchObject({ name: "=HYPERLINK(1)", plate: "@x" });
  });

  it("an export without credentials is refused (401)", async () => {
    expect((await h.app.inject({ url: "/api/vehicles/export.csv" })).statusCode).toBe(401);
  });
});
