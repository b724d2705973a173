import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const UI = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(UI, "..");
// the simulator's road network is copied into the build (the offline basemap)
const SOURCES = [
  "src",
  "public",
  "index.html",
  "vite.config.ts",
  "tsconfig.json",
  "../simulator/dubai-roads.geojson",
];

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
 * missing or older than ui/src (a fresh clone, or a source edit since the last build). Test
 * files run in parallel: a lock makes the others wait for one build instead of emptying
 * ui/dist under each other.
 */
export function buildUiIfStale(log: (msg: string) => void = () => {}): void {
  if (!uiBuildStale()) return;
  withLock(() => {
    if (!uiBuildStale()) return; // built by whoever held the lock
    log("building the web UI (ui/dist is missing or older than ui/src)");
    const r = spawnSync("npm", ["run", "-s", "build:ui"], {
      cwd: ROOT,
      // the production build whoever asks (vitest sets NODE_ENV=test, which would build React's development bundle)
      env: { ...process.env, NODE_ENV: "production" },
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (r.status !== 0) throw new Error(`npm run build:ui failed (exit ${r.status ?? r.signal})`);
  });
}

const LOCK = join(
  tmpdir(),
  `logitrack-ui-build-${createHash("sha256").update(UI).digest("hex").slice(0, 12)}.lock`,
);

function withLock(fn: () => void): void {
  for (;;) {
    try {
      const fd = openSync(LOCK, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!holderAlive()) rmSync(LOCK, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // sleep 200 ms
    }
  }
  try {
    fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** A lock left by a process that died is taken over. */
function holderAlive(): boolean {
  try {
    process.kill(Number(readFileSync(LOCK, "utf8")), 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's; ENOENT (released meanwhile) or ESRCH: not held
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
