import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { zxyToTileId } from "pmtiles";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { solidPng, writePmtiles } from "../support/pmtiles-writer.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const MAGENTA: [number, number, number] = [255, 0, 255];
const FILE_PATH = "/api/ui/basemap.pmtiles";
const poll = { timeout: 30_000, interval: 100 };

let dir: string;
let ui: UiPlatform;
let browser: Browser;
let page: Page;
const ranges: { status: number; range: string | undefined }[] = [];

beforeAll(async () => {
  // every tile of zooms 0-3 (tile ids 0..84, one run) is the same magenta PNG
  dir = mkdtempSync(join(tmpdir(), "logitrack-pmtiles-"));
  const file = join(dir, "basemap.pmtiles");
  const png = solidPng(MAGENTA);
  writeFileSync(
    file,
    writePmtiles([{ tileId: 0, runLength: zxyToTileId(4, 0, 0), data: png }], { minZoom: 0, maxZoom: 3 }),
  );
  ui = await startUiPlatform({ env: { MAP_PMTILES_FILE: file, MAP_MAX_ZOOM: "8" } });
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on("response", async (r) => {
    if (new URL(r.url()).pathname !== FILE_PATH) return;
    // a response still arriving as the page closes has no headers to read any more: not a finding
    const headers = await r
      .request()
      .allHeaders()
      .catch(() => undefined);
    if (headers) ranges.push({ status: r.status(), range: headers.range });
  });
});

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a self-hosted PMTiles basemap (MAP_PMTILES_FILE)", () => {
  it("is not served to someone who has not logged in", async () => {
    const res = await fetch(`${ui.baseUrl}${FILE_PATH}`, { headers: { range: "bytes=0-126" } });
    expect(res.status).toBe(401);
  });

  it("draws the archive's tiles on the map, read with range requests, with no offline fallback", async () => {
    await logIn(page, `${ui.baseUrl}/#map=3/20/10`, ui.admin);
    const config = await (await page.request.get(`${ui.baseUrl}/api/ui/config`)).json();
    expect(config).toMatchObject({ tileUrl: FILE_PATH, tileFormat: "pmtiles" });
    await expect
      .poll(() => page.locator(".leaflet-container").getAttribute("data-basemap"), poll)
      .toBe("tiles");
    // a tile image made from the archive's bytes, decoded, and its pixels are the archive's colour
    // (a string: the test is compiled without the DOM's types)
    const pixel = await page.waitForFunction(
      `(() => {
        const img = [...document.querySelectorAll(".leaflet-tile-pane img.leaflet-tile")].find(
          (i) => i.src.startsWith("blob:") && i.complete && i.naturalWidth === 256,
        );
        if (!img) return undefined;
        const c = document.createElement("canvas");
        c.width = c.height = 1;
        const ctx = c.getContext("2d");
        ctx.drawImage(img, 128, 128, 1, 1, 0, 0, 1, 1);
        return [...ctx.getImageData(0, 0, 1, 1).data];
      })()`,
      undefined,
      { timeout: 30_000 },
    );
    expect(await pixel.jsonValue()).toEqual([...MAGENTA, 255]);
    await expect.poll(() => page.getByText("Map tiles unavailable").count()).toBe(0);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => r.status === 206 && /^bytes=\d+-\d+$/.test(r.range ?? ""))).toBe(true);
  });

  it("answers a range of the file with 206 and exactly those bytes, uncompressed", async () => {
    const res = await page.request.get(`${ui.baseUrl}${FILE_PATH}`, {
      headers: { range: "bytes=0-6", "accept-encoding": "br, gzip" },
    });
    expect(res.status()).toBe(206);
    expect(res.headers()["content-range"]).toMatch(/^bytes 0-6\/\d+$/);
    expect(res.headers()["content-encoding"]).toBeUndefined();
    expect((await res.body()).toString("ascii")).toBe("PMTiles");
  });
});
