import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { addToken } from "../core/api-tokens.ts";
import { liveKeys } from "../core/live-state.ts";
import { addUser } from "../core/users.ts";
import { startUiBenchPlatform } from "../load/bench/ui-platform.ts";
import { launchChromium } from "../test/ui/browser.ts";

/**
 * `npm run screenshots`: the README's pictures of the web map, taken in a real browser (Debian's
 * chromium through playwright-core, as the UI tests) from a whole platform in this process
 * (load/bench/ui-platform.ts) fed by the simulator's 500 trucks over MQTT. Offline on purpose:
 * the tile URL points at a closed port, so the map draws the basemap shipped with the app, the
 * same on every machine. Writes docs/ui-map.png (1280×800) and docs/ui-phone.png (390×844), and
 * prints each first load's bytes on the wire. Services: DATABASE_URL/REDIS_URL, or private ones
 * on LOGITRACK_SCREENSHOTS_PG_PORT / LOGITRACK_SCREENSHOTS_REDIS_PORT (default 54398 / 63898).
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const TRUCKS = 500;
// the simulator's road network (55.03-55.47 E, 24.96-25.27 N) beside the desktop's sidebar
const VIEW = "#map=11/25.11/55.2";
const log = (m: string) => process.stdout.write(`[screenshots] ${m}\n`);

const platform = await startUiBenchPlatform({
  name: "screenshots",
  ports: {
    pg: process.env.LOGITRACK_SCREENSHOTS_PG_PORT ?? "54398",
    redis: process.env.LOGITRACK_SCREENSHOTS_REDIS_PORT ?? "63898",
  },
  // no tile server (port 9, discard, is closed here): the offline basemap
  env: { MAP_TILE_URL: "http://127.0.0.1:9/{z}/{x}/{y}.png" },
  log,
});
const work = mkdtempSync(join(tmpdir(), "logitrack-screenshots-"));
let simulator: ChildProcess | undefined;
try {
  const { pool, redis, baseUrl } = platform;
  const user = { username: "fleet-manager", password: "screenshots-password" };
  await addUser(pool, { ...user, role: "admin" });
  const token = await addToken(pool, { name: "simulator", role: "admin" });
  log(`platform up at ${baseUrl}; ${TRUCKS} simulated trucks registering and driving`);
  simulator = spawn(
    process.execPath,
    [
      ...["--import", "tsx", join(root, "simulator/main.ts"), "--quiet"],
      ...[
        "--trucks",
        String(TRUCKS),
        "--rate",
        "1",
        "--url",
        `mqtt://127.0.0.1:${platform.broker.ports.mqtt}`,
      ],
      ...["--api", baseUrl, "--token", token.token, "--credentials", join(work, "credentials.json")],
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  // every truck has a live position (the bridge's live hash)
  const reported = () => redis.hlen(liveKeys.live);
  for (let i = 0; (await reported()) < TRUCKS; i++) {
    if (i > 1200) throw new Error(`only ${await reported()} of ${TRUCKS} trucks reported in 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // a few fixes more, so the trucks are spread along their routes with speeds and headings
  await new Promise((r) => setTimeout(r, 15_000));

  for (const shot of [
    { file: "ui-map.png", viewport: { width: 1280, height: 800 } },
    { file: "ui-phone.png", viewport: { width: 390, height: 844 } },
  ]) {
    const browser = await launchChromium(shot.viewport);
    try {
      const page = await browser.context.newPage();
      const bytes = firstLoadBytes(page, baseUrl);
      await page.goto(`${baseUrl}/${VIEW}`);
      await page.getByLabel("Username").fill(user.username);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.locator('[data-testid="connection-state"][data-state="live"]').waitFor({ timeout: 30_000 });
      // the trucks in view are drawn (the live snapshot arrived), then one more live update
      await page.locator('.leaflet-container:not([data-marker-count="0"])[data-marker-count]').waitFor({
        state: "attached",
        timeout: 30_000,
      });
      await page
        .getByTestId("vehicle-count")
        .filter({ hasText: `${TRUCKS} of ${TRUCKS} vehicles` })
        .waitFor({ timeout: 30_000 });
      await new Promise((r) => setTimeout(r, 2000));
      await page.waitForLoadState("networkidle");
      const path = join(root, "docs", shot.file);
      await page.screenshot({ path });
      log(
        `${shot.file}: ${statSync(path).size} bytes; first load ${bytes.total()} bytes on the wire (${bytes.count()} responses)`,
      );
    } finally {
      await browser.close();
    }
  }
} finally {
  simulator?.kill("SIGTERM");
  await platform.close();
  rmSync(work, { recursive: true, force: true });
}

/** Bytes on the wire (body as transferred + headers) of the page's own responses. */
function firstLoadBytes(page: Page, origin: string) {
  const sizes: number[] = [];
  page.on("response", async (r) => {
    if (new URL(r.url()).origin !== origin) return;
    const s = await r
      .request()
      .sizes()
      .catch(() => undefined);
    if (s) sizes.push(s.responseBodySize + s.responseHeadersSize);
  });
  return { total: () => sizes.reduce((a, b) => a + b, 0), count: () => sizes.length };
}
