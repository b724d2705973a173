import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { ExternalBrokerKick } from "../../core/external-broker-kick.ts";
import type { Redis } from "../../core/redis.ts";
import { createVehicleAdmin } from "../../core/vehicle-admin.ts";
import { listVehicles, VehicleExistsError } from "../../core/vehicles.ts";
import { CsvError, csvLine, csvValue, parseCsv } from "../csv.ts";
import { errorSchema, sendError } from "../errors.ts";
import { newVehicle } from "./vehicles.ts";

/** A file bigger than this is refused before it is read (413). */
export const IMPORT_MAX_BYTES = 1024 * 1024;
/** Rows of one import (the header not counted): each is one INSERT, so a request stays short. */
export const IMPORT_MAX_ROWS = 5000;

const COLUMNS = ["id", "name", "plate", "imei"] as const;
/** the export's columns an import reads past, so an exported file imports as it is */
const IGNORED = new Set(["status", "createdat"]);
const EXPORT_PAGE = 1000;

const rowResult = z.object({
  line: z.number().int().describe("the row's line in the file"),
  id: z.string(),
  result: z
    .enum(["created", "valid", "invalid", "duplicate", "exists"])
    .describe("valid: a dry run would create it; duplicate: its id or IMEI repeats an earlier row"),
  error: z.string().optional().describe("why the row was not (or would not be) created"),
  credentials: z
    .object({ username: z.string(), password: z.string() })
    .optional()
    .describe("the new vehicle's device secret, shown only in this answer"),
});
type RowResult = z.infer<typeof rowResult>;

const importAnswer = z.object({
  dryRun: z.boolean(),
  rows: z.number().int(),
  created: z.number().int(),
  valid: z.number().int().describe("rows that are (dry run) or were created"),
  failed: z.number().int(),
  items: z.array(rowResult),
});

function issueText(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ");
}

/**
 * Bulk vehicles: `POST /api/vehicles/import` reads a CSV (`id,name,plate,imei`, header first) and
 * answers per row; with dryRun=true it only checks. Rows are independent: a bad row is reported
 * and the good ones are created. `GET /api/vehicles/export.csv` writes the registry as CSV.
 */
export function vehicleImportRoutes(deps: {
  pool: pg.Pool;
  redis: Redis;
  externalBroker?: ExternalBrokerKick | undefined;
}): FastifyPluginAsyncZod {
  const { pool } = deps;
  const admin = createVehicleAdmin(deps);

  async function existing(ids: string[], imeis: string[]) {
    const r = await pool.query<{ id: string; imei: string | null }>(
      "SELECT id, imei FROM vehicles WHERE id = ANY($1::text[]) OR imei = ANY($2::text[])",
      [ids, imeis],
    );
    return { ids: new Set(r.rows.map((x) => x.id)), imeis: new Set(r.rows.map((x) => x.imei)) };
  }

  return async (app) => {
    app.addContentTypeParser(
      "text/csv",
      { parseAs: "string", bodyLimit: IMPORT_MAX_BYTES },
      (_req, body, done) => done(null, body),
    );

    app.post(
      "/api/vehicles/import",
      {
        config: { access: "write" },
        bodyLimit: IMPORT_MAX_BYTES,
        preValidation: async (req, reply) => {
          if (!/^text\/csv\b/i.test(req.headers["content-type"] ?? ""))
            return sendError(reply, "E_UNSUPPORTED_MEDIA_TYPE", "send the file as text/csv");
        },
        schema: {
          tags: ["vehicles"],
          summary: `register vehicles from CSV (id,name,plate,imei; at most ${IMPORT_MAX_ROWS} rows), per-row result`,
          querystring: z.object({
            dryRun: z.enum(["true", "false"]).default("false").describe("true: check every row, create none"),
          }),
          body: z.string(),
          response: { 200: importAnswer, 400: errorSchema, 413: errorSchema, 415: errorSchema },
        },
      },
      async (req, reply) => {
        const dryRun = req.query.dryRun === "true";
        req.audit.params = { dryRun };
        let records: ReturnType<typeof parseCsv>;
        try {
          records = parseCsv(req.body, IMPORT_MAX_ROWS + 1);
        } catch (err) {
          if (!(err instanceof CsvError)) throw err;
          if (err.message.startsWith("more than"))
            return sendError(reply, "E_PAYLOAD_TOO_LARGE", `at most ${IMPORT_MAX_ROWS} rows per import`);
          return sendError(reply, "E_VALIDATION", `the file is not valid CSV: ${err.message}`);
        }
        const [header, ...rows] = records;
        const names = header?.cells.map((c) => c.trim().toLowerCase()) ?? [];
        const unknown = names.filter((n) => !(COLUMNS as readonly string[]).includes(n) && !IGNORED.has(n));
        if (!names.includes("id") || unknown.length > 0)
          return sendError(
            reply,
            "E_VALIDATION",
            `the first line must name the columns: id,name,plate,imei${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}`,
          );
        if (rows.length === 0)
          return sendError(reply, "E_VALIDATION", "the file has no rows below its header");

        const seenIds = new Set<string>();
        const seenImeis = new Set<string>();
        const parsed = rows.map((r): { out: RowResult; v?: z.infer<typeof newVehicle> } => {
          const field = (c: string) => {
            const v = csvValue((r.cells[names.indexOf(c)] ?? "").trim());
            return v === "" ? undefined : v;
          };
          const id = field("id") ?? "";
          const out: RowResult = { line: r.line, id, result: "valid" };
          const v = newVehicle.safeParse({
            id,
            name: field("name"),
            plate: field("plate"),
            imei: field("imei"),
          });
          if (!v.success) return { out: { ...out, result: "invalid", error: issueText(v.error) } };
          const dupe = seenIds.has(id)
            ? "id"
            : v.data.imei && seenImeis.has(v.data.imei)
              ? "IMEI"
              : undefined;
          seenIds.add(id);
          if (v.data.imei) seenImeis.add(v.data.imei);
          if (dupe)
            return { out: { ...out, result: "duplicate", error: `this ${dupe} is on an earlier row` } };
          return { out, v: v.data };
        });

        const candidates = parsed.flatMap((p) => (p.v ? [p.v] : []));
        const found = await existing(
          candidates.map((v) => v.id),
          candidates.flatMap((v) => (v.imei ? [v.imei] : [])),
        );
        for (const p of parsed) {
          if (!p.v) continue;
          const clash = found.ids.has(p.v.id)
            ? "id"
            : p.v.imei && found.imeis.has(p.v.imei)
              ? "IMEI"
              : undefined;
          if (clash) {
            p.out = { ...p.out, result: "exists", error: `a vehicle with this ${clash} is registered` };
            p.v = undefined;
          } else if (!dryRun) {
            try {
              const creds = await admin.register(p.v);
              p.out = {
                ...p.out,
                result: "created",
                credentials: { username: creds.username, password: creds.password },
              };
            } catch (err) {
              if (!(err instanceof VehicleExistsError)) throw err;
              p.out = { ...p.out, result: "exists", error: "a vehicle with this id or IMEI is registered" };
            }
          }
        }
        const items = parsed.map((p) => p.out);
        const count = (...r: RowResult["result"][]) => items.filter((i) => r.includes(i.result)).length;
        const answer = {
          dryRun,
          rows: items.length,
          created: count("created"),
          valid: count("created", "valid"),
          failed: count("invalid", "duplicate", "exists"),
          items,
        };
        // the ids, never the credentials made for them
        req.audit.after = {
          dryRun,
          rows: answer.rows,
          created: items.filter((i) => i.result === "created").map((i) => i.id),
          failed: answer.failed,
        };
        req.log.info(
          {
            dryRun,
            rows: answer.rows,
            created: answer.created,
            failed: answer.failed,
            by: req.principal?.name,
          },
          "vehicle import",
        );
        return answer;
      },
    );

    app.get(
      "/api/vehicles/export.csv",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["vehicles"],
          summary: "every vehicle the caller sees as CSV (id,name,plate,imei,status,createdAt)",
        },
      },
      async (req, reply) => {
        const groups = req.principal?.groups ?? null;
        // the first page before the headers: a database that is down answers an error, not an empty file
        const first = await listVehicles(pool, EXPORT_PAGE, "", groups);
        async function* lines() {
          yield csvLine(["id", "name", "plate", "imei", "status", "createdAt"]);
          let page = first;
          while (page.length > 0) {
            for (const v of page) yield csvLine([v.id, v.name, v.plate, v.imei, v.status, v.createdAt]);
            if (page.length < EXPORT_PAGE) break;
            page = await listVehicles(pool, EXPORT_PAGE, page.at(-1)?.id ?? "", groups);
          }
        }
        reply
          .header("content-type", "text/csv; charset=utf-8")
          .header("content-disposition", 'attachment; filename="vehicles.csv"')
          .header("cache-control", "no-store");
        return reply.send(Readable.from(lines()));
      },
    );
  };
}
