import compress from "@fastify/compress";
import type { FastifyInstance } from "fastify";

/** Below this a body goes out as it is: brotli's framing and the Vary header cost more than they save. */
export const COMPRESS_THRESHOLD_BYTES = 1024;

// what the API answers in: JSON (and problem+json), GeoJSON, CSV, GPX/KML, metrics text. Not
// octet-stream (a .pmtiles basemap is read by byte ranges; its tiles are compressed already),
// nor images, nor text/event-stream (it must reach the client as it is written)
const COMPRESSIBLE = /^text\/(?!event-stream)|[+/]json(?:;|$)|[+/]xml(?:;|$)/;

/**
 * Compressed API responses (@fastify/compress): brotli or gzip as the request's Accept-Encoding
 * asks, for every route registered after it, streamed exports included (piped through the
 * compressor). A reply that already has a Content-Encoding (the UI's precompressed .br/.gz
 * files, api/plugins/ui.ts) and a partial (206) answer are passed through. /ws upgrades never
 * reach it: the socket is handed over before any reply is sent. Request bodies are not inflated
 * (no route takes a compressed upload, and inflating one is a way to make a small request big).
 */
export async function registerCompression(app: FastifyInstance): Promise<void> {
  await app.register(compress, {
    global: true,
    globalDecompression: false,
    encodings: ["br", "gzip"],
    threshold: COMPRESS_THRESHOLD_BYTES,
    customTypes: COMPRESSIBLE,
  });
}
