import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { MqttClient } from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { addUser } from "../../core/users.ts";
import { type Receiver, startReceiver } from "../notifications/support/receiver.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const ARTIFACTS = new URL("../../artifacts/", import.meta.url).pathname;
// away from live-map.test.ts's vehicles: the bridges of every test publish on one live channel
const CENTER = { lat: 64.5, lng: -20.5 };
const poll = { timeout: 30_000, interval: 100 };

let ui: UiPlatform;
let browser: Browser;
let page: Page;
let receiver: Receiver;
let client: MqttClient;
const prefix = `al${randomBytes(3).toString("hex")}`;
const vehicle = `${prefix}-0`;
const viewer = { username: "ui-viewer", password: "ui-viewer-password" };
const HOOK = "Ops hook";

const alertsTab = async (view: "Inbox" | "Rules" | "Channels") => {
  await page.getByRole("navigation", { name: "panels" }).getByRole("button", { name: "Alerts" }).click();
  await page.getByRole("navigation", { name: "alerts" }).getByRole("button", { name: view }).click();
};

async function logIn(user: { username: string; password: string }) {
  await page.goto(`${ui.baseUrl}/#map=11/${CENTER.lat}/${CENTER.lng}`);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect.poll(() => page.getByTestId("connection-state").getAttribute("data-state"), poll).toBe("live");
}

async function publish(recordedAt: number, speed: number) {
  const fix = { lat: CENTER.lat, lng: CENTER.lng, recordedAt, speed, heading: 90, ignition: true };
  await client.publishAsync(topics.location(vehicle), JSON.stringify(fix), { qos: 1 });
}

const channelRow = () => page.locator(`[data-testid="channel-row"][data-channel-name="${HOOK}"]`);

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // the worker's notifier and the notifications consumer run; the receiver is on 127.0.0.1
  ui = await startUiPlatform({ env: { WEBHOOK_ALLOW_PRIVATE: "true" }, notifications: true });
  const [creds] = await ui.platform.register(prefix, 1);
  if (!creds) throw new Error("no vehicle registered");
  client = await ui.platform.connect(creds);
  await addUser(ui.platform.pool, { ...viewer, role: "viewer" });
  receiver = await startReceiver();
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on("dialog", (d) => void d.accept());
});

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await ui?.close();
});

describe("alerts in the web UI (Chromium)", () => {
  it("creates a webhook channel and shows its secret once; a bad recipient reads as a sentence", async () => {
    await logIn(ui.admin);
    // the vehicle on the map, so the map (and its vehicle picker) knows it
    await publish(Date.now(), 30);
    await alertsTab("Channels");
    await page.getByRole("button", { name: "New channel" }).click();
    const form = page.getByRole("form", { name: "new channel" });
    await form.getByLabel("Name (optional)").fill(HOOK);
    await form.getByLabel("URL").fill(receiver.url);
    await form.getByRole("button", { name: "Create channel" }).click();

    const shown = page.getByTestId("channel-secret");
    const secret = await shown.getByLabel("Secret").inputValue();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await shown.getByRole("button", { name: "I have copied it" }).click();
    await expect.poll(() => channelRow().count(), poll).toBe(1);
    expect(await channelRow().textContent()).toContain(`secret ****${secret.slice(-4)}`);
    expect(await page.content()).not.toContain(secret);

    await page.getByRole("button", { name: "New channel" }).click();
    await form.getByLabel("Type").selectOption("email");
    await form.getByLabel(/^Recipients/).fill("ops@example.com, not-an-address");
    await form.getByRole("button", { name: "Create channel" }).click();
    await expect
      .poll(() => page.getByTestId("channel-error").textContent(), poll)
      .toBe("Recipient 2 is not a valid e-mail address.");
    await form.getByRole("button", { name: "Cancel" }).click();
  });

  it("creates a speeding rule for one vehicle that notifies the webhook, and an idling rule", async () => {
    await alertsTab("Rules");
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "new alert rule" });
    await form.getByLabel("Name").fill("Speeding 80");
    await form.getByLabel("Kind").selectOption("speeding");
    await form.getByLabel("Speed limit (km/h)").fill("500");
    await form.getByLabel("Minimum duration (seconds)").fill("2");
    await form.getByLabel("One vehicle").check();
    await form.getByLabel(/^Vehicle/).selectOption(vehicle);
    await form.getByLabel(`${HOOK} (webhook)`).check();
    await page.screenshot({ path: `${ARTIFACTS}ui-alert-rule-form.png` });
    await form.getByRole("button", { name: "Create rule" }).click();
    // the API's `body.params.limitKmh: Too big …`, in the form's words
    await expect
      .poll(() => page.getByTestId("rule-error").textContent(), poll)
      .toBe("Speed limit (km/h) must be at most 400.");
    await form.getByLabel("Speed limit (km/h)").fill("80");
    await form.getByRole("button", { name: "Create rule" }).click();
    const row = page.locator('[data-testid="rule-row"][data-rule-name="Speeding 80"]');
    await expect.poll(() => row.count(), poll).toBe(1);
    expect(await row.textContent()).toContain(`over 80 km/h for 2 s · vehicle ${vehicle}`);
    expect(await row.textContent()).toContain(`notifies ${HOOK}`);

    await page.getByRole("button", { name: "New rule" }).click();
    await form.getByLabel("Name").fill("Idle 5");
    await form.getByLabel("Kind").selectOption("idling");
    await form.getByLabel("Minimum duration (minutes)").fill("5");
    await form.getByLabel("Do not notify between (fleet time zone)").check();
    await form.getByLabel("From").fill("22:00");
    await form.getByLabel("To", { exact: true }).fill("06:30");
    await form.getByRole("button", { name: "Create rule" }).click();
    const idle = page.locator('[data-testid="rule-row"][data-rule-name="Idle 5"]');
    await expect.poll(() => idle.count(), poll).toBe(1);
    expect(await idle.textContent()).toContain("standing for 5 min · whole fleet · quiet 22:00–06:30");

    const stored = await ui.platform.pool.query(
      "SELECT kind, params, scope, channel_ids::int[] AS channels, quiet_hours FROM alert_rules ORDER BY id",
    );
    const hook = await ui.platform.pool.query<{ id: number }>(
      "SELECT id::int FROM notification_channels WHERE name = $1",
      [HOOK],
    );
    expect(stored.rows).toEqual([
      {
        kind: "speeding",
        params: { limitKmh: 80, minSeconds: 2 },
        scope: { kind: "vehicle", vehicleId: vehicle },
        channels: [hook.rows[0]?.id],
        quiet_hours: null,
      },
      {
        kind: "idling",
        params: { minMinutes: 5 },
        scope: { kind: "fleet" },
        channels: [],
        quiet_hours: { from: "22:00", to: "06:30" },
      },
    ]);
  });

  it("toasts a speeding alert from MQTT fixes, lists it in the inbox, acknowledges it; the webhook got it", async () => {
    await page.getByRole("navigation", { name: "panels" }).getByRole("button", { name: "Vehicles" }).click();
    const region = page.getByRole("status", { name: "new alerts" });
    expect(await region.getAttribute("aria-live")).toBe("polite");
    const t0 = Date.now();
    await publish(t0, 100);
    await publish(t0 + 3000, 112);
    const toast = region.getByTestId("alert-toast");
    await expect.poll(() => toast.count(), poll).toBe(1);
    expect(await toast.textContent()).toContain(`Speeding: Speeding 80${vehicle}`);
    await page.screenshot({ path: `${ARTIFACTS}ui-alert-toast.png` });

    await toast.getByRole("button", { name: "Open inbox" }).click();
    const rows = page.getByTestId("alert-row");
    await expect.poll(() => rows.count(), poll).toBe(1);
    expect(await rows.first().getAttribute("data-acknowledged")).toBe("false");
    expect(await toast.count()).toBe(0);
    await rows
      .first()
      .getByRole("button", { name: /^Acknowledge/ })
      .click();
    await expect.poll(() => rows.first().getAttribute("data-acknowledged"), poll).toBe("true");
    expect(await rows.first().textContent()).toContain(`Acknowledged by ${ui.admin.username}`);
    const acked = await ui.platform.pool.query("SELECT acknowledged_at FROM alerts WHERE vehicle_id = $1", [
      vehicle,
    ]);
    expect(acked.rows).toHaveLength(1);
    expect(acked.rows[0]?.acknowledged_at).not.toBeNull();

    // the inbox's kind filter: no idling alerts
    await page.getByRole("form", { name: "filter alerts" }).getByLabel("Kind").selectOption("idling");
    await expect.poll(() => rows.count(), poll).toBe(0);

    await expect
      .poll(
        () =>
          receiver
            .delivered()
            .filter((b) => b.type === "alert")
            .map((b) => [b.vehicleId, b.phase]),
        poll,
      )
      .toContainEqual([vehicle, "start"]);
  });

  it("'send test' queues a test message and its delivery appears in the channel's log", async () => {
    await alertsTab("Channels");
    await channelRow()
      .getByRole("button", { name: `Send test to ${HOOK}` })
      .click();
    const test = channelRow().locator('[data-testid="delivery-row"][data-phase="test"]');
    await expect.poll(() => test.count(), poll).toBe(1);
    await expect.poll(() => test.getAttribute("data-status"), poll).toBe("ok");
    expect(await test.textContent()).toMatch(/delivered \(HTTP 200\)\d+ ms$/);
    // the alert's delivery is logged too
    expect(await channelRow().locator('[data-testid="delivery-row"][data-phase="start"]').count()).toBe(1);
    expect(receiver.delivered().some((b) => b.type === "test")).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}ui-alert-channels.png` });
  });

  it("an edit on a stale version is a conflict (If-Match); delete removes a rule", async () => {
    await alertsTab("Rules");
    const row = page.locator('[data-testid="rule-row"][data-rule-name="Speeding 80"]');
    await row.getByRole("button", { name: "Edit Speeding 80" }).click();
    const form = page.getByRole("form", { name: "edit alert rule" });
    await ui.platform.pool.query("UPDATE alert_rules SET version = version + 1 WHERE name = 'Speeding 80'");
    await form.getByLabel("Speed limit (km/h)").fill("90");
    await form.getByRole("button", { name: "Save changes" }).click();
    await expect
      .poll(() => page.getByTestId("rule-error").textContent(), poll)
      .toContain("Someone else changed this meanwhile");
    await form.getByRole("button", { name: "Load their version" }).click();
    await expect.poll(() => form.getByRole("heading").textContent(), poll).toBe("Edit rule (version 2)");
    await form.getByLabel("Speed limit (km/h)").fill("90");
    await form.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(async () => (await row.textContent()) ?? "", poll).toContain("over 90 km/h");

    await page.getByRole("button", { name: "Delete Idle 5" }).click();
    await expect.poll(() => page.getByTestId("rule-row").count(), poll).toBe(1);
  });

  it("a viewer sees rules and channels without edit controls, and the API refuses a viewer's write", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await logIn(viewer);
    await alertsTab("Rules");
    await expect.poll(() => page.getByTestId("rule-row").count(), poll).toBe(1);
    const sidebar = page.locator(".sidebar");
    for (const name of ["New rule", /^Edit/, /^Delete/])
      expect(await sidebar.getByRole("button", { name }).count()).toBe(0);
    await alertsTab("Channels");
    await expect.poll(() => channelRow().count(), poll).toBe(1);
    for (const name of ["New channel", /^Send test/, /^Disable/, /^Delete/])
      expect(await sidebar.getByRole("button", { name }).count()).toBe(0);
    // the log is read access
    await channelRow()
      .getByRole("button", { name: /Show delivery log/ })
      .click();
    await expect.poll(() => channelRow().getByTestId("delivery-row").count(), poll).toBeGreaterThan(0);

    // (strings: the root tsconfig has no DOM types; this code runs in the page with the viewer's cookie)
    const status = await page.evaluate(`fetch("/api/alert-rules", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x", kind: "speeding", params: { limitKmh: 50, minSeconds: 0 } }),
    }).then((r) => r.status)`);
    expect(status).toBe(403);
    expect((await ui.platform.pool.query("SELECT 1 FROM alert_rules")).rowCount).toBe(1);
  });
});
