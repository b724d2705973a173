import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const UI = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(UI, "..");
const SOURCES = ["src", "index.html", "vite.config.ts", "tsconfig.json"];

/** Newest modification time (ms) under a file or folder; 0 when it does not exist. */
function newest(path: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

/** True when ui/dist is missing or older than any UI source file. */
export function uiBuildStale(): boolean {
  const built = newest(join(UI, "dist", "index.html"));
  return built === 0 || SOURCES.some((s) => newest(join(UI, s)) > built);
}

/**
 * `npm start`, the UI tests and the UI benchmark serve ui/dist: build it first when it is
 * missing or older than ui/src (a fresh clone, or a source edit since the last build).
 */
export function buildUiIfStale(log: (msg: string) => void = () => {}): void {
  if (!uiBuildStale()) return;
  log("building the web UI (ui/dist is missing or older than ui/src)");
  const r = spawnSync("npm", ["run", "-s", "build:ui"], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.status !== 0) throw new Error(`npm run build:ui failed (exit ${r.status ?? r.signal})`);
}
