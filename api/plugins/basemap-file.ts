import { existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { sendError } from "../errors.ts";
import { BASEMAP_FILE_PATH } from "./ui.ts";

/**
 * MAP_PMTILES_FILE, a self-hosted single-file basemap, at /api/ui/basemap.pmtiles: the browser's
 * pmtiles library reads its header, directories and tiles with HTTP range requests (206), which
 * @fastify/static answers from the file. Logged-in users only, like the rest of the map (a
 * basemap file is large: it is not bandwidth to hand to anyone). Not compressed on the fly: it is
 * read by byte ranges of the file as stored, and its tiles are PNG/JPEG/WebP already.
 */
export function basemapFilePlugin(deps: { file: string }) {
  const file = resolve(deps.file);
  return async (app: FastifyInstance) => {
    const present = existsSync(file) && statSync(file).isFile();
    if (!present)
      app.log.error({ file }, "MAP_PMTILES_FILE is not a readable file: the map shows its offline basemap");
    await app.register(fastifyStatic, { root: dirname(file), serve: false, wildcard: false });
    app.get(
      BASEMAP_FILE_PATH,
      {
        config: { access: "read", vehicles: "none" },
        compress: false,
        schema: {
          tags: ["ui"],
          summary: "the self-hosted PMTiles basemap (MAP_PMTILES_FILE), by range requests",
        },
      },
      async (_req, reply) => {
        if (!existsSync(file)) return sendError(reply, "E_NOT_FOUND", "the basemap file is missing");
        // revalidated hourly: an operator may replace the file (the library notices a changed ETag)
        return reply.sendFile(basename(file), { maxAge: 3_600_000, acceptRanges: true });
      },
    );
  };
}
