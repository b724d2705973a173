import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { MqttClient } from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const ARTIFACTS = new URL("../../artifacts/", import.meta.url).pathname;
// not the README's Dubai example: every test's bridge publishes on the same Redis live channel,
// and positions other tests publish must not land in this map's view
const CENTER = { lat: 64.1466, lng: -21.9426 };
const N = 20;
const poll = { timeout: 30_000, interval: 100 };

let ui: UiPlatform;
let browser: Browser;
let page: Page;
const prefix = `ui${randomBytes(3).toString("hex")}`;
const clients: MqttClient[] = [];

async function publish(i: number, lat: number, lng: number, extra: Record<string, unknown> = {}) {
  const client = clients[i] as MqttClient;
  const fix = {
    lat,
    lng,
    recordedAt: Date.now(),
    speed: 40,
    heading: (i * 18) % 360,
    ignition: true,
    ...extra,
  };
  await client.publishAsync(topics.location(`${prefix}-${i}`), JSON.stringify(fix), { qos: 1 });
}

const markers = () =>
  page.evaluate("window.logitrack?.markers() ?? {}") as Promise<Record<string, [number, number]>>;
/** The map has stopped moving (a fly-to from selecting a vehicle takes most of a second). */
async function mapSettled(): Promise<void> {
  await expect
    .poll(async () => {
      const a = JSON.stringify(await markers());
      await new Promise((r) => setTimeout(r, 250));
      return a === JSON.stringify(await markers());
    }, poll)
    .toBe(true);
}

const markerCount = () => page.locator(".leaflet-container").getAttribute("data-marker-count");

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // a grace of a second: a disconnect shows as offline soon after (PRESENCE_GRACE_S)
  ui = await startUiPlatform({ env: { PRESENCE_GRACE_S: "1" } });
  const creds = await ui.platform.register(prefix, N);
  for (const c of creds) clients.push(await ui.platform.connect(c));
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on("dialog", (d) => void d.accept());
});

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

describe("web UI in Chromium against the running platform", () => {
  it("logs in with a password and keeps no credential in storage or the URL", async () => {
    // the view in the URL fragment (the UI keeps it there): where this test's vehicles drive
    await page.goto(`${ui.baseUrl}/#map=11/${CENTER.lat}/${CENTER.lng}`);
    await page.getByLabel("Username").fill(ui.admin.username);
    await page.getByLabel("Password").fill(ui.admin.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect
      .poll(() => page.getByTestId("connection-state").getAttribute("data-state"), poll)
      .toBe("live");
    // (strings: the root tsconfig has no DOM types; this code runs in the page)
    expect(await page.evaluate("localStorage.length + sessionStorage.length")).toBe(0);
    expect(page.url()).toMatch(/^[^?]*#map=[\d./-]+$/);
    const cookie = (await browser.context.cookies()).find((c) => c.name === "lt_session");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Strict");
  });

  it("shows 20 vehicles published over MQTT in the list and as 20 canvas markers", async () => {
    for (let i = 0; i < N; i++) {
      const angle = (i / N) * 2 * Math.PI;
      await publish(i, CENTER.lat + 0.08 * Math.sin(angle), CENTER.lng + 0.08 * Math.cos(angle));
    }
    await expect.poll(() => page.getByTestId("vehicle-row").count(), poll).toBe(N);
    await expect.poll(markerCount, poll).toBe(String(N));
    const drawn = await markers();
    expect(Object.keys(drawn).sort()).toEqual(Array.from({ length: N }, (_, i) => `${prefix}-${i}`).sort());
    // the list follows the live positions too (at most once a second): last seen, not "never"
    await expect
      .poll(() => page.getByTestId("vehicle-row").filter({ hasText: "never" }).count(), poll)
      .toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}ui-map.png` });
  });

  it("moves a vehicle's marker when its next fix arrives", async () => {
    const id = `${prefix}-0`;
    const before = (await markers())[id] as [number, number];
    // north-west: the marker goes up and to the left on the screen
    await publish(0, CENTER.lat + 0.02, CENTER.lng + 0.06, { speed: 55 });
    await expect.poll(async () => (await markers())[id]?.[1], poll).toBeLessThan(before[1] - 5);
    const after = (await markers())[id] as [number, number];
    expect(after[0]).toBeLessThan(before[0] - 5);
    expect(await markerCount()).toBe(String(N));
  });

  it("reconnects after the server drops the live socket and catches up from the new snapshot", async () => {
    // record every connection state the badge shows (the page's own DOM, observed from the test)
    await page.evaluate(`{
      window.states = [];
      const badge = document.querySelector('[data-testid="connection-state"]');
      new MutationObserver(() => window.states.push(badge.dataset.state)).observe(badge, { attributes: true });
    }`);
    const id = `${prefix}-1`;
    const before = (await markers())[id] as [number, number];
    for (const ws of ui.app.websocketServer.clients) ws.terminate();
    // while the page is away: only the snapshot after the reconnect can bring this fix
    await publish(1, CENTER.lat - 0.03, CENTER.lng + 0.05);
    await expect.poll(() => page.evaluate("window.states.join()"), poll).toMatch(/reconnecting.*live/);
    await expect.poll(async () => (await markers())[id]?.[1], poll).toBeGreaterThan(before[1] + 5);
    expect(await markerCount()).toBe(String(N));
  });

  it("reports today's distance per vehicle as a table and a chart", async () => {
    await page.getByRole("button", { name: "Reports" }).click();
    const table = page.getByRole("table", { name: "daily analytics per vehicle" });
    // vehicle 0 drove (moved once); the worker derives the day as it stores the fixes
    const moved = table.locator("tr", { hasText: `${prefix}-0` });
    await expect
      .poll(async () => Number((await moved.locator("td").nth(1).textContent()) ?? 0), poll)
      .toBeGreaterThan(0);
    expect(
      await page.getByRole("img", { name: "distance per vehicle" }).locator("rect").count(),
    ).toBeGreaterThan(0);
    await page.getByRole("button", { name: "Vehicles" }).click();
  });

  it("opens a vehicle's details and shows a conflicting edit as a conflict", async () => {
    const id = `${prefix}-3`;
    await page.locator(`[data-vehicle-id="${id}"] button`).click();
    const details = page.getByTestId("vehicle-details");
    await expect.poll(() => details.getByTestId("detail-speed").textContent(), poll).toBe("40 km/h");
    // someone else saves this vehicle meanwhile: the form's If-Match version is now stale
    await ui.platform.pool.query("UPDATE vehicles SET name = 'theirs', version = version + 1 WHERE id = $1", [
      id,
    ]);
    await details.getByLabel("Name").fill("mine");
    await details.getByRole("button", { name: /^Save/ }).click();
    await expect.poll(() => page.getByTestId("edit-conflict").textContent(), poll).toContain("version 2");
    const r = await ui.platform.pool.query<{ name: string }>("SELECT name FROM vehicles WHERE id = $1", [id]);
    expect(r.rows[0]?.name).toBe("theirs");
  });

  it("draws a geofence with the mouse, saves it, finds it after a reload, shows its enter event live, deletes it", async () => {
    const name = `Depot ${prefix}`;
    await page.getByRole("button", { name: "Geofences" }).click();
    // one geoman toolbar however often React mounted the map's effects (StrictMode mounts twice)
    expect(await page.locator(".leaflet-pm-icon-polygon").count()).toBe(1);
    await page.getByTestId("draw-geofence").click();
    await mapSettled();
    const box = await page.locator(".leaflet-container").boundingBox();
    if (!box) throw new Error("no map on the page");
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const corners: [number, number][] = [
      [cx - 120, cy - 90],
      [cx + 120, cy - 90],
      [cx + 140, cy + 90],
      [cx - 100, cy + 110],
    ];
    for (const [x, y] of corners) {
      await page.mouse.move(x, y);
      await page.mouse.click(x, y);
    }
    // clicking the first corner again closes the polygon (geoman)
    await page.mouse.click(...(corners[0] as [number, number]));
    const form = page.getByRole("form", { name: "new geofence" });
    await form.getByLabel("Name").fill(name);
    await page.screenshot({ path: `${ARTIFACTS}ui-geofence-editor.png` });
    await form.getByRole("button", { name: "Save geofence" }).click();
    const row = page.locator(`[data-testid="geofence-row"][data-geofence-name="${name}"]`);
    await expect.poll(() => row.count(), poll).toBe(1);

    const stored = await ui.platform.pool.query<{ n: number }>(
      "SELECT ST_NPoints(polygon)::int AS n FROM geofences WHERE name = $1",
      [name],
    );
    expect(stored.rows[0]?.n).toBe(5); // four corners and the closing point

    await page.reload();
    await expect
      .poll(() => page.getByTestId("connection-state").getAttribute("data-state"), poll)
      .toBe("live");
    await page.getByRole("button", { name: "Geofences" }).click();
    await expect.poll(() => row.count(), poll).toBe(1);

    // a vehicle driving in: the worker's enter event reaches the feed through the WebSocket
    const c = await ui.platform.pool.query<{ lat: number; lng: number }>(
      "SELECT ST_Y(ST_Centroid(polygon)) AS lat, ST_X(ST_Centroid(polygon)) AS lng FROM geofences WHERE name = $1",
      [name],
    );
    const centre = c.rows[0] as { lat: number; lng: number };
    await page.getByRole("button", { name: "Events" }).click();
    await publish(5, centre.lat, centre.lng);
    const event = page.getByTestId("event-row").filter({ hasText: `${prefix}-5` });
    await expect.poll(() => event.textContent(), poll).toContain(name);
    expect(await event.textContent()).toContain("enter");

    await page.getByRole("button", { name: "Geofences" }).click();
    await row.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => row.count(), poll).toBe(0);
    const left = await ui.platform.pool.query("SELECT 1 FROM geofences WHERE name = $1", [name]);
    expect(left.rowCount).toBe(0);
  });

  it("badges each vehicle online or offline, live, and filters the list by presence", async () => {
    await page.getByRole("button", { name: "Vehicles" }).click();
    const row = (i: number) => page.locator(`[data-testid="vehicle-row"][data-vehicle-id="${prefix}-${i}"]`);
    const badge = (i: number) => row(i).getByTestId("presence-badge");
    await expect.poll(() => badge(19).textContent(), poll).toBe("online");
    // the device disconnects: after the grace the broker's offline event reaches the page over /ws
    await (clients[19] as MqttClient).endAsync();
    await expect.poll(() => badge(19).textContent(), poll).toBe("offline");
    // presence and motion agree: its last fix said 30 km/h, but it is not shown moving now
    const gone = `${prefix}-19`;
    const state = row(19).locator("[data-state]");
    await expect.poll(() => state.getAttribute("data-state"), poll).toBe("offline");
    expect(await row(19).textContent()).not.toContain("km/h");
    const legend = page.getByRole("region", { name: "legend" });
    expect(await legend.locator('[data-state="offline"]').textContent()).toMatch(
      /^Offline \(disconnected.*1$/,
    );
    expect(await legend.locator('[data-state="stale"]').textContent()).toMatch(
      /^No recent fix \(last known\)/,
    );
    // selected, the map flies to it: its marker is drawn as disconnected, not as a moving arrow
    await row(19).getByRole("button").click();
    await expect
      .poll(() => page.evaluate(`window.logitrack?.states()[${JSON.stringify(gone)}]`), poll)
      .toBe("offline");
    const presence = page.getByTestId("vehicle-details").getByTestId("detail-presence");
    await expect
      .poll(() => presence.textContent(), poll)
      .toMatch(/^offline since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    await page.getByRole("button", { name: "close details (Escape)" }).click();
    const filter = page.getByLabel(/^Connection/);
    await filter.selectOption("offline");
    await expect.poll(() => page.getByTestId("vehicle-row").count(), poll).toBe(1);
    expect(await row(19).count()).toBe(1);
    await filter.selectOption("online");
    await expect.poll(() => page.getByTestId("vehicle-row").count(), poll).toBe(N - 1);
    expect(await row(19).count()).toBe(0);
    await filter.selectOption("all");
    await expect.poll(() => page.getByTestId("vehicle-row").count(), poll).toBe(N);
  });
});
