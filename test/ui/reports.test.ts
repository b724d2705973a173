import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { MqttClient } from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addToken } from "../../core/api-tokens.ts";
import { topics } from "../../core/topics.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const poll = { timeout: 30_000, interval: 100 };
const prefix = `rp${randomBytes(3).toString("hex")}`;
const N = 130;
const vid = (i: number) => `${prefix}-${String(i).padStart(3, "0")}`;

let ui: UiPlatform;
let browser: Browser;
let page: Page;
let device: MqttClient;
const fenceName = `Depot ${prefix}`;
// the device's id must not match the report filter (prefix): its own day would be one more row
const devicePrefix = `dv${randomBytes(3).toString("hex")}`;

/** A download the page starts with `click`: its file name and text. */
async function downloaded(click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [d] = await Promise.all([page.waitForEvent("download"), click()]);
  return { name: d.suggestedFilename(), text: readFileSync((await d.path()) as string, "utf8") };
}

/** Answers the page's CSV requests of `path` with a 503, as an API whose database is down; undone by the returned function. */
async function refuseCsv(path: string): Promise<() => Promise<void>> {
  const match = (url: URL) => url.pathname === path && url.searchParams.get("format") === "csv";
  await page.route(match, (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({
        statusCode: 503,
        code: "E_UNAVAILABLE",
        error: "Service Unavailable",
        message: "a service the API needs is unavailable; retry later",
      }),
    }),
  );
  return () => page.unroute(match);
}

beforeAll(async () => {
  ui = await startUiPlatform();
  const { pool, config } = ui.platform;
  // a fleet of more rows than one page: today's (fleet day) totals, vehicle i drove i km
  await pool.query(
    `INSERT INTO vehicles (id, name, credential_hash)
     SELECT $2 || '-' || lpad(i::text, 3, '0'), CASE WHEN i = 7 THEN 'Truck Seven' END, decode('00', 'hex')
     FROM generate_series(0, $1 - 1) i`,
    [N, prefix],
  );
  await pool.query(
    `INSERT INTO daily_vehicle_stats (vehicle_id, day, fixes, distance_m, moving_s, idle_s, moving_speed_s,
                                      max_speed_kmh, first_fix_at, last_fix_at)
     SELECT $2 || '-' || lpad(i::text, 3, '0'), (now() AT TIME ZONE $3)::date, 10, i * 1000, 3600, 1800,
            3600 * 40, 80, now() - interval '1 hour', now()
     FROM generate_series(0, $1 - 1) i`,
    [N, prefix, config.FLEET_TZ],
  );
  // geofence events of two vehicles in the last hours
  await pool.query(
    `INSERT INTO geofence_events (vehicle_id, geofence_id, geofence_name, kind, at, confirmed_at, location)
     SELECT $1 || '-' || lpad((i % 2)::text, 3, '0'), 999, 'Jebel Ali', CASE WHEN i % 2 = 0 THEN 'enter' ELSE 'exit' END,
            now() - (i + 1) * interval '10 minutes', now() - (i + 1) * interval '10 minutes', ST_Point(55, 25, 4326)
     FROM generate_series(0, 5) i`,
    [prefix],
  );
  // a geofence through the API (the worker learns of it), and a device that will drive into it
  const admin = await addToken(pool, { name: `${prefix}-admin`, role: "admin" });
  const square = [
    [-10.01, 50.01],
    [-9.99, 50.01],
    [-9.99, 49.99],
    [-10.01, 49.99],
    [-10.01, 50.01],
  ];
  const made = await ui.app.inject({
    method: "POST",
    url: "/api/geofences",
    headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
    payload: JSON.stringify({
      type: "Feature",
      geometry: { type: "Polygon", coordinates: [square] },
      properties: { name: fenceName },
    }),
  });
  expect(made.statusCode).toBe(201);
  const [creds] = await ui.platform.register(devicePrefix, 1);
  device = await ui.platform.connect(creds as { username: string; password: string });
  browser = await launchChromium();
  page = await browser.context.newPage();
  // the map on the geofence: /ws sends a located event to the pages whose view holds it (api/live-hub.ts)
  await logIn(page, `${ui.baseUrl}/#map=12/50/-10`, ui.admin);
});

afterAll(async () => {
  await device?.endAsync(true).catch(() => {});
  await browser?.close();
  await ui?.close();
});

describe("reports and events at fleet size (Chromium)", () => {
  const table = () => page.getByRole("table", { name: "daily analytics per vehicle" });
  const position = () => page.getByTestId("page-position").textContent();
  const firstRow = () => table().getByTestId("report-row").first().locator("td");

  it("shows the reports in their own wide view, a page at a time, with units on every column", async () => {
    await page.getByRole("button", { name: "Reports", exact: true }).click();
    await page.getByRole("region", { name: "reports" }).waitFor();
    // the wide view, not the sidebar: wider than the 380 px sidebar ever is
    const box = await page.getByRole("region", { name: "reports" }).boundingBox();
    expect(box?.width).toBeGreaterThan(1000);
    await page.getByLabel("Vehicle id or name").fill(prefix);
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(position, poll).toBe(`1–100 of ${N}`);
    expect(await table().getByTestId("report-row").count()).toBe(100);
    const headers = await table().locator("th").allTextContents();
    expect(headers.slice(0, 6)).toEqual([
      "Vehicle",
      "Distance (km)",
      "Avg speed (km/h)",
      "Max speed (km/h)",
      "Moving (h)",
      "Idle (h)",
    ]);
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(position, poll).toBe(`101–${N} of ${N}`);
    expect(await table().getByTestId("report-row").count()).toBe(N - 100);
  });

  it("sorts the whole fleet by distance, not one page, and filters by name", async () => {
    await page.getByRole("button", { name: "Distance (km)", exact: true }).click();
    await expect.poll(position, poll).toBe(`1–100 of ${N}`);
    await expect
      .poll(async () => (await firstRow().allTextContents()).slice(0, 2), poll)
      .toEqual([vid(N - 1), "129.0"]);
    expect(await table().locator("th[aria-sort]").getAttribute("aria-sort")).toBe("descending");
    await page.getByRole("button", { name: "Distance (km)", exact: true }).click();
    await expect.poll(async () => (await firstRow().allTextContents())[0], poll).toBe(vid(0));

    await page.getByLabel("Vehicle id or name").fill("truck seven");
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(position, poll).toBe("1–1 of 1");
    expect((await firstRow().allTextContents())[0]).toBe(`Truck Seven (${vid(7)})`);
  });

  it("exports the filtered, sorted report as CSV in the user's units", async () => {
    await page.getByLabel("Vehicle id or name").fill(prefix);
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("button", { name: "Distance (km)", exact: true }).click();
    await expect.poll(async () => (await firstRow().allTextContents())[0], poll).toBe(vid(N - 1));
    const csv = await downloaded(() => page.getByRole("button", { name: "Export CSV" }).click());
    // the name the API gives in Content-Disposition (the range), else the page's own
    expect(csv.name).toMatch(/^summary-\d{4}-\d\d-\d\d(-\d{4}-\d\d-\d\d)?\.csv$/);
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "vehicleId,name,days,fixes,distance_km,moving_h,idle_h,avg_speed_kmh,max_speed_kmh",
    );
    expect(lines).toHaveLength(N + 1);
    expect(lines[1]).toBe(`${vid(N - 1)},,1,10,129.000,1.000,0.500,40.0,80.0`);

    // miles and mph, in the table and the file
    await page.getByText("Settings").click();
    await page.getByLabel("Speed in").selectOption("mph");
    await expect.poll(() => table().locator("th").nth(1).textContent(), poll).toBe("Distance (mi)");
    const miles = await downloaded(() => page.getByRole("button", { name: "Export CSV" }).click());
    expect(miles.text.split("\r\n")[1]).toBe(`${vid(N - 1)},,1,10,80.157,1.000,0.500,24.9,49.7`);
    await page.getByLabel("Speed in").selectOption("kmh");
    await page.getByText("Settings").click();
  });

  it("says in words what is wrong with a range, without the API's field names", async () => {
    await page.getByLabel("First day").fill("2001-01-01");
    await page.getByRole("button", { name: "Show" }).click();
    await expect
      .poll(() => page.getByTestId("report-error").textContent(), poll)
      .toBe("The last day may be at most 366 days after the start.");
    const today = await page.getByLabel("Last day").inputValue();
    await page.getByLabel("First day").fill(today);
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(position, poll).toBe(`1–100 of ${N}`);
  });

  it("shows a failed export as an error on the page", async () => {
    const undo = await refuseCsv("/api/reports/summary");
    await page.getByRole("button", { name: "Export CSV" }).click();
    await expect
      .poll(() => page.getByTestId("export-error").textContent(), poll)
      .toBe(
        "The export failed: The service needed for this is unavailable right now. Try again in a moment.",
      );
    await undo();
  });

  it("filters events by vehicle and exports them", async () => {
    await page.getByRole("button", { name: "Events", exact: true }).click();
    const view = page.getByRole("region", { name: "events" });
    await view.waitFor();
    await view.getByLabel("Vehicle").selectOption(vid(1));
    await view.getByRole("button", { name: "Show" }).click();
    const rows = view.getByTestId("event-row");
    await expect.poll(() => rows.count(), poll).toBe(3);
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-vehicle-id")))).toEqual([
      vid(1),
      vid(1),
      vid(1),
    ]);
    expect(await rows.first().textContent()).toContain("exit");
    expect(await rows.first().textContent()).toContain("Jebel Ali");

    const csv = await downloaded(() => view.getByRole("button", { name: "Export CSV" }).click());
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe("at,vehicleId,type,kind,geofenceId,geofenceName,confirmedAt,lat,lng");
    expect(lines.slice(1).map((l) => l.split(",").slice(1, 6).join(","))).toEqual([
      `${vid(1)},geofence,exit,999,Jebel Ali`,
      `${vid(1)},geofence,exit,999,Jebel Ali`,
      `${vid(1)},geofence,exit,999,Jebel Ali`,
    ]);

    const undo = await refuseCsv("/api/events");
    await view.getByRole("button", { name: "Export CSV" }).click();
    await expect
      .poll(() => view.getByTestId("export-error").textContent(), poll)
      .toMatch(/^The export failed: /);
    await undo();
  });

  it("badges the events tab with events that arrive while another view is open", async () => {
    await page.getByRole("button", { name: "Reports", exact: true }).click();
    expect(await page.getByTestId("events-badge").count()).toBe(0);
    const id = `${devicePrefix}-0`;
    const at = Date.now();
    // outside the square, then inside it: the worker derives an enter and sends it on /ws
    for (const [lat, lng, t] of [
      [50.05, -10, at - 20_000],
      [50, -10, at],
    ] as const)
      await device.publishAsync(topics.location(id), JSON.stringify({ lat, lng, recordedAt: t }), { qos: 1 });
    await expect.poll(() => page.getByTestId("events-badge").textContent(), poll).toMatch(/^\d+ new$/);

    await page.getByRole("button", { name: "Events" }).click();
    expect(await page.getByTestId("events-badge").count()).toBe(0);
    const view = page.getByRole("region", { name: "events" });
    await view.getByLabel("Vehicle").selectOption("");
    await view.getByRole("button", { name: "Show" }).click();
    const row = view.locator(`[data-testid="event-row"][data-vehicle-id="${id}"]`);
    await expect.poll(() => row.textContent(), poll).toContain(fenceName);
    await page.getByRole("button", { name: "Vehicles", exact: true }).click();
    expect(await page.getByTestId("events-badge").count()).toBe(0);
  });
});
