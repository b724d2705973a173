import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashDeviceSecret } from "../../core/credentials.ts";
import type { Fix } from "../../core/fix.ts";
import { defineLiveUpdate, liveArgs, liveKeys } from "../../core/live-state.ts";
import { channelOf } from "../../core/redis.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const ARTIFACTS = new URL("../../artifacts/", import.meta.url).pathname;
// away from the other UI tests' vehicles and from the simulator's Dubai
const CENTER = { lat: -33.7, lng: 19.2 };
const N = 1000;
const poll = { timeout: 30_000, interval: 100 };

let ui: UiPlatform;
let browser: Browser;
let page: Page;
const prefix = `lay${randomBytes(3).toString("hex")}`;
const id = (i: number) => `${prefix}-${i}`;
/** what the first load sent: path → bytes on the wire (body as transferred + headers) and encoding */
const firstLoad = new Map<string, { bytes: number; encoding: string | undefined }>();

/** A port nothing listens on: the tile server that is not there. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Vehicles 1..n in the registry (every other one named) and their newest fix in the live state, as the bridge writes it. */
async function seedFleet(from: number, to: number, fix: (i: number) => Partial<Fix> = () => ({})) {
  const hash = hashDeviceSecret("layout-test-secret");
  await ui.platform.pool.query(
    `INSERT INTO vehicles (id, name, credential_hash)
     SELECT $1 || '-' || g, CASE WHEN g % 2 = 0 THEN 'Truck ' || g END, $2 FROM generate_series($3::int, $4::int) g`,
    [prefix, hash, from, to],
  );
  const now = Date.now();
  const fixes: Fix[] = [];
  for (let i = from; i <= to; i++) {
    fixes.push({
      vehicleId: id(i),
      recordedAt: now,
      receivedAt: now,
      messageId: `m${i}`,
      lat: CENTER.lat + (((i * 37) % 100) / 100 - 0.5) * 0.1,
      lng: CENTER.lng + (((i * 61) % 100) / 100 - 0.5) * 0.14,
      speed: i % 4 === 0 ? 0 : 30,
      ignition: i % 4 === 0 ? i % 8 === 0 : true,
      heading: (i * 13) % 360,
      ...fix(i),
    });
  }
  const redis = defineLiveUpdate(ui.platform.redis);
  for (let k = 0; k < fixes.length; k += 500)
    await redis.liveUpdate(...liveArgs(fixes.slice(k, k + 500), channelOf(redis, liveKeys.liveChannel)));
}

async function login(p: Page, hash = `#map=12/${CENTER.lat}/${CENTER.lng}`) {
  await p.goto(`${ui.baseUrl}/${hash}`);
  await p.getByLabel("Username").fill(ui.admin.username);
  await p.getByLabel("Password").fill(ui.admin.password);
  await p.getByRole("button", { name: "Log in" }).click();
  await expect.poll(() => p.getByTestId("connection-state").getAttribute("data-state"), poll).toBe("live");
}

/** Opens the page (logged in already) at a view: a full load, not a same-document hash change. */
async function visit(hash: string) {
  await page.goto(`${ui.baseUrl}/${hash}`);
  await page.reload();
  await expect.poll(() => page.getByTestId("connection-state").getAttribute("data-state"), poll).toBe("live");
}

const row = (i: number) => page.locator(`[data-testid="vehicle-row"][data-vehicle-id="${id(i)}"]`);
const container = () => page.locator(".leaflet-container");
let tileOrigin = "";

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // tiles from a server that is not there, as on a machine without internet
  tileOrigin = `http://127.0.0.1:${await closedPort()}`;
  const tiles = `${tileOrigin}/{z}/{x}/{y}.png`;
  ui = await startUiPlatform({ env: { MAP_TILE_URL: tiles, MAP_MAX_ZOOM: "18" } });
  await seedFleet(1, N, (i) => {
    // vehicle 7's newest fix is two hours old; vehicle 3 is named after its id
    return i === 7 ? { recordedAt: Date.now() - 2 * 3_600_000 } : {};
  });
  await ui.platform.pool.query("UPDATE vehicles SET name = id WHERE id = $1", [id(3)]);
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on("response", async (r) => {
    const url = new URL(r.url());
    if (url.origin !== ui.baseUrl) return;
    const sizes = await r
      .request()
      .sizes()
      .catch(() => undefined);
    if (!sizes) return;
    firstLoad.set(url.pathname, {
      bytes: sizes.responseBodySize + sizes.responseHeadersSize,
      encoding: (await r.allHeaders())["content-encoding"],
    });
  });
});

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

describe("the map, the list and the layout in Chromium", () => {
  it("loads the page compressed, with a favicon and no source map", async () => {
    await login(page);
    await expect
      .poll(() => page.getByTestId("vehicle-count").textContent(), poll)
      .toBe(`${N} of ${N} vehicles`);
    const js = [...firstLoad.keys()].find((p) => /^\/assets\/.*\.js$/.test(p)) as string;
    expect(js).toBeDefined();
    expect(firstLoad.get(js)?.encoding).toMatch(/^(br|gzip)$/);
    const css = [...firstLoad.keys()].find((p) => /^\/assets\/.*\.css$/.test(p)) as string;
    expect(firstLoad.get(css)?.encoding).toMatch(/^(br|gzip)$/);
    const total = [...firstLoad.values()].reduce((a, b) => a + b.bytes, 0);
    process.stderr.write(`first load: ${firstLoad.size} responses, ${total} bytes on the wire\n`);
    for (const [path, r] of firstLoad)
      process.stderr.write(`  ${path} ${r.bytes} ${r.encoding ?? "identity"}\n`);

    const icon = await page.locator('link[rel="icon"]').getAttribute("href");
    expect((await page.request.get(`${ui.baseUrl}${icon}`)).status()).toBe(200);
    const body = await (await page.request.get(`${ui.baseUrl}${js}`)).text();
    expect(body).not.toContain("sourceMappingURL");
    expect((await page.request.get(`${ui.baseUrl}${js}.map`)).status()).toBe(404);
  });

  it("reaches the 1,000th vehicle of 1,000 by scrolling the list, in natural order", async () => {
    const first = await page
      .getByTestId("vehicle-row")
      .evaluateAll((rows) => rows.slice(0, 3).map((r) => r.getAttribute("data-vehicle-id")));
    expect(first).toEqual([id(1), id(2), id(3)]);
    // only a screenful of rows is in the page, not 1,000
    expect(await page.getByTestId("vehicle-row").count()).toBeLessThan(100);
    await page.locator(".vlist").evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await expect.poll(() => row(N).count(), poll).toBe(1);
    await row(N).getByRole("button").click();
    await expect
      .poll(() => page.getByTestId("vehicle-details").getAttribute("aria-label"), poll)
      .toBe(`vehicle ${id(N)}`);
    expect(await page.getByTestId("vehicle-details").getByRole("heading").textContent()).toBe(`Truck ${N}`);
  });

  it("shows each row's state and speed, a name once, and a stale fix as last known", async () => {
    await page.getByLabel("search vehicles").fill(`${prefix}-`);
    await page.locator(".vlist").evaluate((el) => {
      el.scrollTop = 0;
    });
    await expect.poll(() => row(1).count(), poll).toBe(1);
    const state = (i: number) => row(i).locator("[data-state]").getAttribute("data-state");
    expect(await state(1)).toBe("moving");
    expect(await row(1).textContent()).toContain("30 km/h");
    expect(await state(4)).toBe("stopped"); // standing, ignition off
    expect(await state(8)).toBe("idle"); // standing, ignition on
    // no fix for STALE_AFTER_SECONDS: "no recent fix", not presence's "offline"
    expect(await state(7)).toBe("stale");
    expect(await row(7).textContent()).toContain("2h ago");
    expect(await row(2).textContent()).toContain(`Truck 2 ${id(2)}`);
    // named after its id: the id once, not "x-3 x-3"
    expect((await row(3).textContent())?.split(id(3)).length).toBe(2);
    // the same colours on the map: the legend counts the states
    const legend = page.getByRole("region", { name: "legend" });
    expect(await legend.locator('[data-state="stale"]').textContent()).toMatch(/No recent fix.*1$/);

    await row(7).getByRole("button").click();
    const details = page.getByTestId("vehicle-details");
    await expect
      .poll(() => details.getByTestId("detail-state").getAttribute("data-state"), poll)
      .toBe("stale");
    expect(await details.textContent()).toContain("Last known speed");
    // times carry their zone: FLEET_TZ (Asia/Dubai) unless the viewer picks another
    expect(await details.textContent()).toMatch(/Last seen\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (GST|GMT\+4)/);
  });

  it("opens the match on Enter in the search, closes the details on Escape, and switches units", async () => {
    const search = page.getByLabel("search vehicles");
    await search.fill(id(501));
    await search.press("Enter");
    const details = page.getByTestId("vehicle-details");
    await expect.poll(() => details.getAttribute("aria-label"), poll).toBe(`vehicle ${id(501)}`);
    expect(await details.getByTestId("detail-speed").textContent()).toBe("30 km/h");

    await page.getByText("Settings").click();
    await page.getByLabel("Speed in").selectOption("mph");
    expect(await details.getByTestId("detail-speed").textContent()).toBe("19 mph");
    expect(await page.evaluate("localStorage.getItem('logitrack.display')")).toContain("mph");
    await page.getByLabel("Speed in").selectOption("kmh");
    await page.getByText("Settings").click();

    await search.focus();
    await page.keyboard.press("Escape");
    await expect.poll(() => details.count(), poll).toBe(0);
  });

  it("has a skip link that takes the keyboard to the map", async () => {
    await visit(`#map=12/${CENTER.lat}/${CENTER.lng}`);
    // the map is drawn before the link has somewhere to go
    await expect.poll(() => container().count(), poll).toBe(1);
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Skip to map");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate("document.activeElement?.id"), poll).toBe("map");
    // the view stays in the URL: the skip link does not replace it
    expect(page.url()).toMatch(/#map=\d/);
  });

  it("draws the offline basemap (land and the Dubai roads) when no tile can load", async () => {
    await expect.poll(() => container().getAttribute("data-basemap"), poll).toBe("offline");
    const failedTiles: string[] = [];
    const onFailed = (r: { url(): string }) => {
      if (r.url().startsWith(tileOrigin)) failedTiles.push(r.url());
    };
    page.on("requestfailed", onFailed);
    await visit("#map=12/25.2048/55.2708");
    await expect.poll(() => container().getAttribute("data-basemap"), poll).toBe("offline");
    page.off("requestfailed", onFailed);
    // one probe tile, not a failed request for every tile in view; no tile layer, so no credit
    // for tiles that are not shown
    expect(failedTiles.length).toBeLessThanOrEqual(1);
    expect(await page.locator(".leaflet-tile").count()).toBe(0);
    expect((await page.locator(".leaflet-control-attribution").textContent()) ?? "").not.toContain(
      "OpenStreetMap",
    );
    const drawn = () =>
      page
        .locator(".leaflet-basemap-pane path")
        .evaluateAll((ps) => ps.filter((p) => (p.getAttribute("d") ?? "").length > 10).length);
    // land and at least ten of the thirteen roads in view around Dubai
    await expect.poll(drawn, poll).toBeGreaterThan(10);
    expect(await page.getByRole("status").filter({ hasText: "offline map" }).count()).toBe(1);
    await page.screenshot({ path: `${ARTIFACTS}ui-offline-basemap.png` });
  });

  it("follows a #map= view typed or followed on the open page, as a reload would", async () => {
    await visit(`#map=12/${CENTER.lat}/${CENTER.lng}`);
    await page.evaluate("location.hash = '#map=9/48.85/2.35'");
    // the map moved there: its own view, written back after the move, is that place
    await expect.poll(() => page.url(), poll).toMatch(/#map=9\/48\.85000\/2\.35000$/);
  });

  it("groups the vehicles into counted bubbles past 2,000 in view, and keeps markers when zoomed in", async () => {
    await seedFleet(N + 1, 2500);
    await visit(`#map=11/${CENTER.lat}/${CENTER.lng}`);
    await expect.poll(() => container().getAttribute("data-marker-count"), poll).toBe("2500");
    expect(await container().getAttribute("data-render-mode")).toBe("clusters");
    await visit(`#map=16/${CENTER.lat}/${CENTER.lng}`);
    await expect.poll(() => container().getAttribute("data-render-mode"), poll).toBe("markers");
  });

  it("follows the selected vehicle as its fixes arrive", async () => {
    await visit(`#map=14/${CENTER.lat}/${CENTER.lng}`);
    const v = 12;
    await page.getByLabel("search vehicles").fill(id(v));
    // Enter opens the match once the fleet list has loaded (2,500 vehicles on a busy machine)
    const details = page.getByTestId("vehicle-details");
    await expect
      .poll(async () => {
        if ((await details.count()) === 0) await page.getByLabel("search vehicles").press("Enter");
        return details.getAttribute("aria-label");
      }, poll)
      .toBe(`vehicle ${id(v)}`);
    const box = await container().boundingBox();
    if (!box) throw new Error("no map");
    const mid = [box.width / 2, box.height / 2];
    const at = async () =>
      ((await page.evaluate("window.logitrack?.markers() ?? {}")) as Record<string, [number, number]>)[id(v)];
    for (let step = 1; step <= 3; step++) {
      const now = Date.now();
      const redis = defineLiveUpdate(ui.platform.redis);
      await redis.liveUpdate(
        ...liveArgs(
          [
            {
              vehicleId: id(v),
              recordedAt: now,
              receivedAt: now,
              messageId: `f${step}`,
              lat: CENTER.lat + 0.004 * step,
              lng: CENTER.lng + 0.006 * step,
              speed: 40,
              ignition: true,
            },
          ],
          channelOf(redis, liveKeys.liveChannel),
        ),
      );
      // the marker comes back to the middle of the map after each move
      await expect
        .poll(async () => {
          const p = await at();
          return p ? Math.hypot(p[0] - (mid[0] as number), p[1] - (mid[1] as number)) : 999;
        }, poll)
        .toBeLessThan(3);
    }
  });

  it("on a 390 × 844 phone shows the map first and the list in a sheet below it", async () => {
    const phone = await launchChromium({ width: 390, height: 844 });
    try {
      const p = await phone.context.newPage();
      await login(p);
      const map = await p.locator(".leaflet-container").boundingBox();
      const sheet = await p.locator(".sidebar").boundingBox();
      if (!map || !sheet) throw new Error("no map or no sheet");
      expect(map.width).toBeGreaterThanOrEqual(380);
      expect(map.height).toBeGreaterThanOrEqual(300);
      expect(map.y).toBeLessThan(sheet.y);
      await expect
        .poll(() => p.locator(".leaflet-container").getAttribute("data-marker-count"), poll)
        .not.toBe(null);
      await expect.poll(() => p.getByTestId("vehicle-row").count(), poll).toBeGreaterThan(0);
      await p.screenshot({ path: `${ARTIFACTS}ui-phone.png` });
      // hiding the sheet gives the map the screen
      await p.getByRole("button", { name: "Hide panel" }).click();
      await expect
        .poll(async () => (await p.locator(".leaflet-container").boundingBox())?.height ?? 0, poll)
        .toBeGreaterThan(650);
    } finally {
      await phone.close();
    }
  });
});
