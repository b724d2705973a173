import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchChromium } from "./browser.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

// away from the other browser tests' vehicles (Dubai, Reykjavík)
const CENTER = { lat: 38.7223, lng: -9.1393 };
const ARTIFACTS = new URL("../../artifacts/", import.meta.url).pathname;
const MIN = 60_000;
const poll = { timeout: 30_000, interval: 100 };

let ui: UiPlatform;
let browser: Browser;
let page: Page;
const prefix = `hist${randomBytes(3).toString("hex")}`;
const vehicleId = `${prefix}-0`;
/** 08:00 yesterday in the fleet's zone (FLEET_TZ), as PostgreSQL computes it */
let yesterday8: number;

/** Fixes one a minute from `start`, heading east. */
const run = (start: number, n: number, lngFrom: number) =>
  Array.from({ length: n }, (_, i) => ({ t: start + i * MIN, lat: CENTER.lat, lng: lngFrom + i * 0.002 }));

async function insertFixes(fixes: { t: number; lat: number; lng: number }[]) {
  for (const f of fixes)
    await ui.platform.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(f.t)]);
  await ui.platform.pool.query(
    `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, received_at)
     SELECT $1, to_timestamp(t / 1000.0), ST_SetSRID(ST_MakePoint(lng, lat), 4326), 30, now()
     FROM unnest($2::float8[], $3::float8[], $4::float8[]) AS u(t, lat, lng)`,
    [vehicleId, fixes.map((f) => f.t), fixes.map((f) => f.lat), fixes.map((f) => f.lng)],
  );
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ui = await startUiPlatform();
  await ui.platform.register(prefix, 1);
  const r = await ui.platform.pool.query<{ t: number }>(
    `SELECT extract(epoch FROM (date_trunc('day', now() AT TIME ZONE $1) - interval '1 day' + interval '8 hours')
       AT TIME ZONE $1)::float8 * 1000 AS t`,
    [ui.platform.config.FLEET_TZ],
  );
  yesterday8 = r.rows[0]?.t as number;
  // yesterday: 20 fixes, a 44-minute silence, 20 more; and two days ago 3 fixes the preset leaves out
  await insertFixes([
    ...run(yesterday8, 20, CENTER.lng),
    ...run(yesterday8 + 19 * MIN + 44 * MIN, 20, CENTER.lng + 0.06),
    ...run(yesterday8 - 24 * 60 * MIN, 3, CENTER.lng),
  ]);
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on("dialog", (d) => void d.accept());
  await page.goto(`${ui.baseUrl}/#map=14/${CENTER.lat}/${CENTER.lng + 0.03}`);
  await page.getByLabel("Username").fill(ui.admin.username);
  await page.getByLabel("Password").fill(ui.admin.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out", exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

describe("history in Chromium", () => {
  it("loads yesterday (fleet zone) from a preset, with start and end markers and the gap dashed, not solid", async () => {
    await page.getByRole("button", { name: "History", exact: true }).click();
    const form = page.getByRole("form", { name: "track" });
    await form.getByLabel("Vehicle").selectOption(vehicleId);
    await form.getByRole("button", { name: "Yesterday" }).click();
    await expect.poll(() => page.locator(".replay").textContent(), poll).toContain("40 fixes");
    // the range also in 24-hour form, whatever the browser's locale draws in the inputs
    expect(await form.getByTestId("range-from-24h").textContent()).toMatch(/^\d{4}-\d{2}-\d{2} 00:00$/);
    expect(await page.locator("path.track-start").count()).toBe(1);
    expect(await page.locator("path.track-end").count()).toBe(1);
    // two solid runs either side of the silence, and the silence a dashed line of its own
    expect(await page.locator("path.track-run").count()).toBe(2);
    const gap = page.locator("path.track-gap");
    expect(await gap.count()).toBe(1);
    expect(await gap.getAttribute("stroke-dasharray")).toMatch(/\d/);
    expect(await page.locator("path.track-run[stroke-dasharray]").count()).toBe(0);
    // the map fits the track: both ends in view, neither under the legend
    const map = await page.locator(".leaflet-container").boundingBox();
    const legend = await page.getByRole("region", { name: "legend" }).boundingBox();
    if (!map || !legend) throw new Error("no map or legend");
    for (const end of ["path.track-start", "path.track-end"]) {
      await expect
        .poll(async () => {
          const b = await page.locator(end).boundingBox();
          if (!b) return `${end}: not drawn`;
          const cx = b.x + b.width / 2;
          const cy = b.y + b.height / 2;
          const inMap = cx > map.x && cx < map.x + map.width && cy > map.y && cy < map.y + map.height;
          const underLegend =
            b.x + b.width > legend.x &&
            b.x < legend.x + legend.width &&
            b.y + b.height > legend.y &&
            b.y < legend.y + legend.height;
          return inMap && !underLegend ? "clear" : `${end}: ${JSON.stringify(b)}`;
        }, poll)
        .toBe("clear");
    }
  });

  it("steps the scrubber by time: its middle is the middle of the time span, inside the gap", async () => {
    // 08:00 to 09:22: 82 minutes, its middle 08:41, in the silence between 08:19 and 09:03
    const span = 82 * MIN;
    await page.getByLabel("replay position").fill(String(span / 2));
    const time = page.getByTestId("replay-time");
    await expect
      .poll(() => time.getAttribute("data-at"), poll)
      .toBe(new Date(yesterday8 + span / 2).toISOString());
    expect(await time.textContent()).toContain("no fixes");
    await page.screenshot({ path: `${ARTIFACTS}ui-history.png` });
  });

  it("downloads the track as GeoJSON, and says so when an export fails", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "GeoJSON" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${vehicleId}-.*\\.geojson$`));
    const feature = JSON.parse(readFileSync(await download.path(), "utf8"));
    expect(feature.geometry.type).toBe("LineString");
    expect(feature.geometry.coordinates).toHaveLength(40);
    expect(feature.properties.vehicleId).toBe(vehicleId);
    expect(feature.properties.coordinateProperties.times[0]).toBe(new Date(yesterday8).toISOString());

    // longer than TRACK_MAX_DAYS (31): the API refuses, and the page says so instead of nothing
    const from = page.getByRole("form", { name: "track" }).getByLabel(/^From/);
    const d = new Date(yesterday8 - 40 * 24 * 60 * MIN).toISOString().slice(0, 10);
    await from.fill(`${d}T08:00`);
    await page.getByRole("button", { name: "GPX" }).click();
    await expect
      .poll(() => page.getByTestId("export-error").textContent(), poll)
      .toMatch(/GPX export failed.*31 days/);
  });
});

describe("geofences in Chromium", () => {
  const rowOf = (name: string) => page.locator(`[data-testid="geofence-row"][data-geofence-name="${name}"]`);
  const popup = () => page.locator(".leaflet-popup").getByTestId("geofence-popup");

  async function drawSquare() {
    await page.getByTestId("draw-geofence").click();
    const box = await page.locator(".leaflet-container").boundingBox();
    if (!box) throw new Error("no map on the page");
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const corners: [number, number][] = [
      [cx - 100, cy - 80],
      [cx + 100, cy - 80],
      [cx + 100, cy + 80],
      [cx - 100, cy + 80],
    ];
    for (const [x, y] of corners) {
      await page.mouse.move(x, y);
      await page.mouse.click(x, y);
    }
    await page.mouse.click(...(corners[0] as [number, number]));
  }

  it("saves the dwell drawn with a geofence and shows it in words; no database fields in the popup", async () => {
    const name = `Dock ${prefix}`;
    await page.getByRole("button", { name: "Geofences", exact: true }).click();
    await drawSquare();
    const form = page.getByRole("form", { name: "new geofence" });
    await form.getByLabel("Name").fill(name);
    await form.getByLabel(/Dwell before enter/).fill("90");
    await form.getByRole("button", { name: "Save geofence" }).click();
    await expect.poll(() => rowOf(name).count(), poll).toBe(1);
    const stored = await ui.platform.pool.query<{ dwell: number }>(
      "SELECT dwell_seconds AS dwell FROM geofences WHERE name = $1",
      [name],
    );
    expect(stored.rows[0]?.dwell).toBe(90);

    await rowOf(name).getByRole("button", { name }).click();
    const text = await popup().textContent();
    expect(text).toContain(name);
    expect(text).toContain("Dwell before enter: 1 min 30 s");
    // the area as PostGIS measures it on the spheroid, in the default (metric) units
    const m = /Polygon · 4 corners · ([\d.]+) (ha|m²|km²)/.exec(text ?? "");
    expect(m).not.toBeNull();
    const shown = Number(m?.[1]) * { "m²": 1, ha: 10_000, "km²": 1_000_000 }[m?.[2] as "ha"];
    const a = await ui.platform.pool.query<{ m2: number }>(
      "SELECT ST_Area(polygon::geography) AS m2 FROM geofences WHERE name = $1",
      [name],
    );
    expect(Math.abs(shown / (a.rows[0]?.m2 as number) - 1)).toBeLessThan(0.01);
    expect(text).not.toMatch(/version|vertices|closed ring|id \d/i);
    await page.screenshot({ path: `${ARTIFACTS}ui-geofence-popup.png` });
  });

  it("edits the dwell away: no dwell line at all, not a dwell of 0s", async () => {
    const name = `Dock ${prefix}`;
    await rowOf(name).getByRole("button", { name: "Edit" }).click();
    const form = page.getByRole("form", { name: "edit geofence" });
    const dwell = form.getByLabel(/Dwell before enter/);
    expect(await dwell.inputValue()).toBe("90");
    await dwell.fill("");
    await form.getByRole("button", { name: "Save changes" }).click();
    await expect
      .poll(async () => {
        const r = await ui.platform.pool.query<{ dwell: number }>(
          "SELECT dwell_seconds AS dwell FROM geofences WHERE name = $1",
          [name],
        );
        return r.rows[0]?.dwell;
      }, poll)
      .toBe(0);
    await rowOf(name).getByRole("button", { name }).click();
    await expect.poll(() => popup().textContent(), poll).toContain(name);
    const text = await popup().textContent();
    expect(text).not.toMatch(/dwell/i);
    expect(text).not.toMatch(/version|vertices|closed ring/i);
  });
});
