import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
const ROADS = fileURLToPath(new URL("../simulator/dubai-roads.geojson", import.meta.url));
const ROADS_NAME = "basemap/dubai-roads.geojson";

/**
 * The offline basemap draws the simulator's Dubai road network: the UI may not import
 * simulator/ (.dependency-cruiser.cjs), so the build copies the file beside the bundles (and the
 * dev server answers it from the source), one copy of the data in the repository.
 */
function simulatorRoads(): Plugin {
  return {
    name: "logitrack-simulator-roads",
    configureServer(server) {
      server.middlewares.use(`/${ROADS_NAME}`, (_req, res) => {
        res.setHeader("content-type", "application/geo+json");
        res.end(readFileSync(ROADS));
      });
    },
    generateBundle() {
      this.emitFile({ type: "asset", fileName: ROADS_NAME, source: readFileSync(ROADS) });
    },
  };
}

const COMPRESSIBLE = /\.(js|css|html|svg|json|geojson)$/;

/**
 * Writes `.br` and `.gz` beside every text file of the build, once, at maximum effort:
 * api/plugins/ui.ts serves them (@fastify/static preCompressed) to a browser that accepts them,
 * so no request pays for compressing and no compression library is needed at run time.
 */
function precompress(): Plugin {
  let outDir = "";
  return {
    name: "logitrack-precompress",
    apply: "build",
    configResolved(c) {
      outDir = c.build.outDir.startsWith("/") ? c.build.outDir : join(c.root, c.build.outDir);
    },
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((n) => {
          const p = join(dir, n);
          return statSync(p).isDirectory() ? walk(p) : [p];
        });
      for (const file of walk(outDir).filter((f) => COMPRESSIBLE.test(f))) {
        const body = readFileSync(file);
        if (body.length < 1024) continue;
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        );
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
      }
    },
  };
}

/** `npm run build:ui` builds into ui/dist, which api/plugins/ui.ts serves at / (one origin with the API). */
export default defineConfig({
  root,
  plugins: [react(), simulatorRoads(), precompress()],
  // no source maps in the build: a public map hands out the whole source (`npx vite` serves them in development)
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
  server: {
    // `npx vite --config ui/vite.config.ts` during development, against `npm start` on :8080
    proxy: { "/api": "http://127.0.0.1:8080", "/ws": { target: "ws://127.0.0.1:8080", ws: true } },
  },
});
