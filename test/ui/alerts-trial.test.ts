import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { MqttClient } from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { addRule } from "../alerts/alert-rules.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

/**
 * What the fleet manager of trial 16 found in the alerts UI: offline / no-fix rules, the speed
 * unit, toasts beyond three, acknowledging all shown, the inbox in a 380 px sidebar, channels
 * (listed at once, copy, rotate, in use) and the delivery log's paging, filter and names.
 */
const ARTIFACTS = new URL("../../artifacts/", import.meta.url).pathname;
const CENTER = { lat: 63.9, lng: -22.1 };
const poll = { timeout: 30_000, interval: 100 };

let ui: UiPlatform;
let browser: Browser;
let page: Page;
let client: MqttClient;
const dialogs: string[] = [];
const prefix = `at${randomBytes(3).toString("hex")}`;
const vehicle = `${prefix}-0`;

const alertsTab = async (view: "Inbox" | "Rules" | "Channels") => {
  await page.getByRole("navigation", { name: "panels" }).getByRole("button", { name: "Alerts" }).click();
  await page.getByRole("navigation", { name: "alerts" }).getByRole("button", { name: view }).click();
};
const ruleRow = (name: string) => page.locator(`[data-testid="rule-row"][data-rule-name="${name}"]`);
const channelRow = (name: string) => page.locator(`[data-testid="channel-row"][data-channel-name="${name}"]`);

async function publish(recordedAt: number, speed: number) {
  const fix = { lat: CENTER.lat, lng: CENTER.lng, recordedAt, speed, heading: 90, ignition: true };
  await client.publishAsync(topics.location(vehicle), JSON.stringify(fix), { qos: 1 });
}

/** Whether any element under `selector` is wider than its box (text cut or running out). */
const overflowing = (selector: string) =>
  page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})]
    .filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.textContent)`) as Promise<string[]>;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ui = await startUiPlatform({ env: { WEBHOOK_ALLOW_PRIVATE: "true" } });
  const [creds] = await ui.platform.register(prefix, 1);
  if (!creds) throw new Error("no vehicle registered");
  client = await ui.platform.connect(creds);
  browser = await launchChromium({ width: 1400, height: 900 });
  page = await browser.context.newPage();
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
});

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

describe("alerts UI after trial 16 (Chromium)", () => {
  it("creates an offline rule, edits its minutes, and filters the inbox by the offline and no-fix kinds", async () => {
    await logIn(page, `${ui.baseUrl}/#map=11/${CENTER.lat}/${CENTER.lng}`, ui.admin);
    await expect
      .poll(() => page.getByTestId("connection-state").getAttribute("data-state"), poll)
      .toBe("live");
    await publish(Date.now(), 20);
    await alertsTab("Rules");
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "new alert rule" });
    const kinds = await form.getByLabel("Kind").locator("option").allTextContents();
    expect(kinds).toEqual(expect.arrayContaining(["Offline", "No GPS fix"]));
    await form.getByLabel("Name").fill("Van offline");
    await form.getByLabel("Kind").selectOption("offline");
    await form.getByLabel("For at least (minutes)").fill("2");
    await form.getByRole("button", { name: "Create rule" }).click();
    await expect.poll(() => ruleRow("Van offline").count(), poll).toBe(1);
    expect(await ruleRow("Van offline").textContent()).toContain("Offline: for 2 min");

    await ruleRow("Van offline").getByRole("button", { name: "Edit Van offline" }).click();
    const edit = page.getByRole("form", { name: "edit alert rule" });
    expect(await edit.getByLabel("For at least (minutes)").inputValue()).toBe("2");
    expect(await edit.textContent()).not.toContain("not evaluated");
    await edit.getByLabel("For at least (minutes)").fill("3");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect
      .poll(async () => (await ruleRow("Van offline").textContent()) ?? "", poll)
      .toContain("for 3 min");
    const stored = await ui.platform.pool.query("SELECT params FROM alert_rules WHERE name = 'Van offline'");
    expect(stored.rows).toEqual([{ params: { minutes: 3 } }]);

    await alertsTab("Inbox");
    const filter = page.getByRole("form", { name: "filter alerts" }).getByLabel("Kind");
    expect(await filter.locator("option").allTextContents()).toEqual(
      expect.arrayContaining(["Offline", "No GPS fix"]),
    );
    await filter.selectOption("no_fix");
    await filter.selectOption("");
  });

  it("takes the speed limit in the viewer's unit and stores km/h; summaries read in that unit", async () => {
    await page.getByText("Settings").click();
    await page.getByLabel("Speed in").selectOption("mph");
    await page.getByText("Settings").click();
    await alertsTab("Rules");
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "new alert rule" });
    await form.getByLabel("Name").fill("Over 50 mph");
    await form.getByLabel("Kind").selectOption("speeding");
    await form.getByLabel("Speed limit (mph)").fill("50");
    await form.getByLabel("Minimum duration (seconds)").fill("2");
    await form.getByRole("button", { name: "Create rule" }).click();
    await expect.poll(() => ruleRow("Over 50 mph").count(), poll).toBe(1);
    expect(await ruleRow("Over 50 mph").textContent()).toContain("over 50 mph for 2 s");
    const stored = await ui.platform.pool.query("SELECT params FROM alert_rules WHERE name = 'Over 50 mph'");
    expect(stored.rows[0]?.params.limitKmh).toBeCloseTo(80.467, 2);
    // opened and saved unchanged: the stored km/h stays as it was (no round trip through mph)
    await ruleRow("Over 50 mph").getByRole("button", { name: "Edit Over 50 mph" }).click();
    const edit = page.getByRole("form", { name: "edit alert rule" });
    expect(await edit.getByLabel("Speed limit (mph)").inputValue()).toBe("50");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => page.getByRole("form", { name: "edit alert rule" }).count(), poll).toBe(0);
    const again = await ui.platform.pool.query("SELECT params FROM alert_rules WHERE name = 'Over 50 mph'");
    expect(again.rows[0]?.params.limitKmh).toBe(stored.rows[0]?.params.limitKmh);
    await ruleRow("Over 50 mph").getByRole("button", { name: "Delete Over 50 mph" }).click();
    await expect.poll(() => ruleRow("Over 50 mph").count(), poll).toBe(0);
  });

  it("keeps every toast until dismissed with '+N more', and acknowledges all shown in a sidebar that fits", async () => {
    for (let i = 1; i <= 4; i++)
      await addRule(ui.platform.pool, {
        name: `Speeding rule number ${i} with a long name`,
        kind: "speeding",
        params: { limitKmh: 80, minSeconds: 2 },
        scope: { kind: "vehicle", vehicleId: vehicle },
      });
    await page.getByRole("navigation", { name: "panels" }).getByRole("button", { name: "Vehicles" }).click();
    // the presence badge, state and speed sit inside their row, not on the divider below it
    const vrow = page.locator(`[data-testid="vehicle-row"][data-vehicle-id="${vehicle}"]`);
    const badge = await vrow.locator(".item-side").boundingBox();
    const box = await vrow.boundingBox();
    expect(
      badge && box && badge.y + badge.height <= box.y + box.height,
      "badge, state and speed inside the row",
    ).toBe(true);
    const t0 = Date.now();
    await publish(t0, 100);
    await publish(t0 + 3000, 112.3);
    const region = page.getByRole("status", { name: "new alerts" });
    const toasts = region.getByTestId("alert-toast");
    await expect.poll(() => region.getByTestId("toast-more").count(), poll).toBe(1);
    expect(await toasts.count()).toBe(3);
    expect(await region.getByTestId("toast-more").textContent()).toBe("+1 more: open the inbox");
    // the peak in the viewer's unit (mph, set above)
    expect(await toasts.first().textContent()).toContain("peak 70 mph");
    await toasts
      .first()
      .getByRole("button", { name: /^Dismiss/ })
      .click();
    await expect.poll(() => region.getByTestId("toast-more").count(), poll).toBe(0);
    expect(await toasts.count()).toBe(3);

    await region.getByTestId("alert-toast").first().getByRole("button", { name: "Open inbox" }).click();
    const rows = page.getByTestId("alert-row");
    await expect.poll(() => rows.count(), poll).toBe(4);
    // nothing in the filters or the rows is cut in the 380 px sidebar
    await page.screenshot({ path: `${ARTIFACTS}ui-alert-inbox-1400.png` });
    expect(
      await overflowing('[aria-label="filter alerts"] label, [aria-label="filter alerts"] select'),
    ).toEqual([]);
    expect(await overflowing('[data-testid="alert-row"] .item-main')).toEqual([]);
    const sidebar = await page.locator(".sidebar").boundingBox();
    for (const label of ["Kind", "Started"]) {
      const box = await page.getByRole("form", { name: "filter alerts" }).getByLabel(label).boundingBox();
      expect(box && sidebar && box.x + box.width <= sidebar.x + sidebar.width, label).toBe(true);
    }
    expect(await rows.first().getByTestId("alert-times").textContent()).toMatch(/–|\(ongoing\)/);
    // the panel tabs in full rows, none cut (Manage and People alone on a second line before)
    const tabs = page.getByRole("navigation", { name: "panels" }).getByRole("button");
    const tops = (await tabs.evaluateAll((els) => els.map((el) => el.getBoundingClientRect().top))).map(
      Math.round,
    );
    const perRow = [...new Set(tops)].map((t) => tops.filter((x) => x === t).length);
    // full rows of four (ten tabs for an admin since groups and audit: 4 + 4 + 2), never one alone
    expect(perRow.slice(0, -1).every((n) => n === 4)).toBe(true);
    expect(perRow.at(-1)).toBeGreaterThanOrEqual(2);
    expect(perRow.reduce((a, n) => a + n, 0)).toBe(tops.length);
    expect(await overflowing('nav[aria-label="panels"] button')).toEqual([]);

    await page.getByRole("button", { name: "Acknowledge all shown" }).click();
    expect(dialogs.at(-1)).toBe("Acknowledge the 4 unacknowledged alerts shown?");
    await expect
      .poll(() => page.getByTestId("inbox-count").textContent(), poll)
      .toBe("0 unacknowledged, 4 acknowledged");
    const open = await ui.platform.pool.query(
      "SELECT count(*)::int AS n FROM alerts WHERE vehicle_id = $1 AND acknowledged_at IS NULL",
      [vehicle],
    );
    expect(open.rows[0]?.n).toBe(0);
  });

  it("lists a new channel at once, copies and rotates its secret, and pages and filters its delivery log", async () => {
    const name = `Hook ${"x".repeat(90)}`;
    await alertsTab("Channels");
    await page.getByRole("button", { name: "New channel" }).click();
    const form = page.getByRole("form", { name: "new channel" });
    await form.getByLabel("Name (optional)").fill(name);
    await form.getByLabel("URL").fill("http://127.0.0.1:9/hook");
    await form.getByRole("button", { name: "Create channel" }).click();
    const shown = page.getByTestId("channel-secret");
    const first = await shown.getByLabel("Secret").inputValue();
    // in the list before the secret is put away, and no "no channels yet" under it
    await expect.poll(() => channelRow(name).count(), poll).toBe(1);
    expect(await page.getByText("No notification channels yet.").count()).toBe(0);
    expect(await shown.getByRole("button", { name: /^Copy/ }).count()).toBe(1);
    expect(
      await overflowing('[data-testid="channel-secret"] h3, [data-testid="channel-row"] strong'),
    ).toEqual([]);
    await shown.getByRole("button", { name: "I have copied it" }).click();

    await channelRow(name)
      .getByRole("button", { name: /^Rotate secret/ })
      .click();
    const rotated = await page.getByTestId("channel-secret").getByLabel("Secret").inputValue();
    expect(rotated).not.toBe(first);
    const stored = await ui.platform.pool.query<{ id: string; secret: string }>(
      "SELECT id, secret FROM notification_channels WHERE name = $1",
      [name],
    );
    expect(stored.rows[0]?.secret).toBe(rotated);
    await page.getByRole("button", { name: "I have copied it" }).click();

    // 55 delivered tests, then an alert's attempts that gave up
    const id = stored.rows[0]?.id;
    const alert = await ui.platform.pool.query<{ id: string }>(
      `INSERT INTO alerts (rule_id, rule_name, vehicle_id, kind, started_at, confirmed_at)
       VALUES (1, 'Night speeding', $1, 'speeding', now(), now()) RETURNING id`,
      [vehicle],
    );
    await ui.platform.pool.query(
      `INSERT INTO notification_deliveries (channel_id, delivery_id, phase, attempt, status, latency_ms)
       SELECT $1, 't' || i, 'test', 1, 'ok', 5 FROM generate_series(1, 55) i`,
      [id],
    );
    await ui.platform.pool.query(
      `INSERT INTO notification_deliveries (channel_id, delivery_id, alert_id, phase, attempt, status, error)
       VALUES ($1, 'a1', $2, 'start', 1, 'dead', 'HTTP 500')`,
      [id, alert.rows[0]?.id],
    );
    await channelRow(name)
      .getByRole("button", { name: /Show delivery log/ })
      .click();
    const logRows = channelRow(name).getByTestId("delivery-row");
    await expect.poll(() => logRows.count(), poll).toBe(50);
    const what = (await logRows.first().textContent()) ?? "";
    expect(what).toContain("Night speeding · ");
    expect(what).toContain(vehicle);
    expect(what).toContain("· started");
    await channelRow(name)
      .getByRole("button", { name: /^Older/ })
      .click();
    await expect.poll(() => logRows.count(), poll).toBe(56);
    expect(
      await channelRow(name)
        .getByRole("button", { name: /^Older/ })
        .count(),
    ).toBe(0);
    await channelRow(name)
      .getByLabel(/^delivery status/)
      .selectOption("dead");
    await expect.poll(() => logRows.count(), poll).toBe(1);
    expect(await logRows.first().getAttribute("data-status")).toBe("dead");
  });

  it("does not delete a channel that rules use: the dialog names them", async () => {
    const hook = await ui.platform.pool.query<{ id: string; name: string }>(
      "SELECT id, name FROM notification_channels LIMIT 1",
    );
    const { id, name } = hook.rows[0] as { id: string; name: string };
    await addRule(ui.platform.pool, {
      name: "Uses the hook",
      kind: "idling",
      params: { minMinutes: 5 },
      channelIds: [Number(id)],
    });
    // away and back: the alerts tab loads rules and channels when opened
    await page.getByRole("navigation", { name: "panels" }).getByRole("button", { name: "Vehicles" }).click();
    await alertsTab("Rules");
    await expect
      .poll(async () => (await ruleRow("Uses the hook").textContent()) ?? "", poll)
      .toContain(`notifies ${name}`);
    await alertsTab("Channels");
    await channelRow(name)
      .getByRole("button", { name: /^Delete/ })
      .click();
    expect(dialogs.at(-1)).toContain('is used by the alert rules "Uses the hook": remove it from them first');
    expect((await ui.platform.pool.query("SELECT 1 FROM notification_channels")).rowCount).toBe(1);
  });
});
