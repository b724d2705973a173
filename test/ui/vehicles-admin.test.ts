import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { addUser } from "../../core/users.ts";
import { getVehicle } from "../../core/vehicles.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const poll = { timeout: 30_000, interval: 100 };
const prefix = `va${randomBytes(3).toString("hex")}`;

let ui: UiPlatform;
let browser: Browser;
let page: Page;
const clients: MqttClient[] = [];

async function login(p: Page, user: { username: string; password: string }) {
  await logIn(p, ui.baseUrl, user);
  await p.getByRole("button", { name: "Manage", exact: true }).click();
}

/** The secret panel's values, as a person would copy them. */
async function shownSecret() {
  const panel = page.getByTestId("vehicle-secret");
  return {
    username: (await panel.getByTestId("secret-username").textContent()) as string,
    password: (await panel.getByTestId("secret-password").textContent()) as string,
    url: (await panel.getByTestId("connection-mqtt-url").textContent()) as string,
  };
}

/** mqtt.js with the shown settings; the client id is the vehicle id (core/client-id.ts). */
async function connectDevice(s: { url: string; username: string; password: string }): Promise<MqttClient> {
  const c = await mqtt.connectAsync(s.url, {
    username: s.username,
    password: s.password,
    clientId: s.username,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  clients.push(c);
  return c;
}

const refused = (s: { url: string; username: string; password: string }) =>
  connectDevice(s).then(
    () => false,
    (err: Error) => /Bad username or password|Not authorized/i.test(err.message),
  );

beforeAll(async () => {
  ui = await startUiPlatform({}, { osmand: true });
  browser = await launchChromium();
  page = await browser.context.newPage();
  await login(page, ui.admin);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  await browser?.close();
  await ui?.close();
});

describe("managing vehicles in the web app (Chromium)", () => {
  const id = `${prefix}-new`;
  let first: { url: string; username: string; password: string };
  let device: MqttClient;

  it("adds a vehicle, shows its secret once with the connection settings, and the device connects with them", async () => {
    await page.getByRole("button", { name: "Add vehicle" }).click();
    await page.getByLabel("Vehicle id").fill(id);
    await page.getByLabel("Name").fill("Truck Reykjavik");
    await page.getByLabel("IMEI (Teltonika devices)").fill("12ab");
    await page.getByRole("button", { name: "Add vehicle" }).last().click();
    // a human message naming the field, not `body.imei`
    await expect.poll(() => page.getByRole("alert").textContent(), poll).toBe("IMEI: must be 8 to 20 digits");
    await page.getByLabel("IMEI (Teltonika devices)").fill("");
    await page.getByRole("button", { name: "Add vehicle" }).last().click();

    first = await shownSecret();
    expect(first.username).toBe(id);
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(first.url).toBe(`mqtt://127.0.0.1:${ui.platform.broker.ports.mqtt}`);
    expect(await page.getByTestId("connection-owntracks").count()).toBe(1);
    // Traccar Client (OSMAND_PORT is on): the server URL and the device key as the app wants them
    await page.getByTestId("connection-osmand").locator("summary").click();
    const osmandUrl = (await page.getByTestId("connection-osmand-url").textContent()) as string;
    const deviceKey = (await page.getByTestId("connection-osmand-key").textContent()) as string;
    expect(osmandUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(deviceKey).toMatch(/^[a-z2-7]{26}$/);
    const traccar = await fetch(
      `${osmandUrl}/?id=${deviceKey}&lat=64.1&lon=-21.9&timestamp=${Math.floor(Date.now() / 1000)}`,
      { method: "POST" },
    );
    expect(traccar.status).toBe(200);

    device = await connectDevice(first);
    const fix = { lat: 64.1, lng: -21.9, recordedAt: Date.now() };
    await device.publishAsync(topics.location(id), JSON.stringify(fix), { qos: 1 });
    // and a fix out of range: rejected, with its reason code on the vehicle's page
    await device.publishAsync(topics.location(id), JSON.stringify({ ...fix, lat: 200 }), { qos: 1 });

    await page.getByRole("button", { name: "Done, I have copied it" }).click();
    expect(await page.getByTestId("vehicle-secret").count()).toBe(0);
    await page.getByLabel("find a vehicle to manage").fill(id);
    await expect.poll(() => page.getByTestId("admin-vehicle-row").count(), poll).toBe(1);
    await page.getByLabel("find a vehicle to manage").press("Enter");
    await page.getByTestId("vehicle-admin-detail").waitFor();
    await expect
      .poll(async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        return page.getByTestId("rejected-row").first().textContent();
      }, poll)
      .toContain("E_OUT_OF_RANGE");
  });

  it("sends a command and shows the device's answer", async () => {
    device.on("message", (topic, payload) => {
      if (topic !== topics.commands(id)) return;
      const { commandId } = JSON.parse(payload.toString()) as { commandId: string };
      void device.publishAsync(
        topics.commandAck(id),
        JSON.stringify({ commandId, status: "ok", response: { battery: 87 } }),
        { qos: 1 },
      );
    });
    await device.subscribeAsync(topics.commands(id), { qos: 1 });
    await page.getByRole("button", { name: "Send command" }).click();
    const row = page.getByTestId("command-row").first();
    await expect.poll(() => row.getAttribute("data-status"), poll).toBe("acked");
    // the device's answer pretty-printed, the payload labelled
    expect(await row.getByTestId("command-response").textContent()).toBe('{\n  "battery": 87\n}');
    expect(await row.textContent()).toContain("payload");
  });

  it("rotates the secret: the old session is cut, the old secret refused, the new one works", async () => {
    const cut = new Promise<void>((resolve) => device.once("close", () => resolve()));
    await page.getByRole("button", { name: "Rotate secret…" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Rotate secret" }).click();
    const second = await shownSecret();
    expect(second.password).not.toBe(first.password);
    await cut;
    expect(await refused(first)).toBe(true);
    const again = await connectDevice(second);
    await again.publishAsync(
      topics.location(id),
      JSON.stringify({ lat: 64.1, lng: -21.9, recordedAt: Date.now() }),
      { qos: 1 },
    );
    await page.getByRole("button", { name: "Done, I have copied it" }).click();
  });

  it("removes a vehicle after asking", async () => {
    await page.getByRole("button", { name: "Remove…" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Remove vehicle" }).click();
    // gone from the list, and the search that found it is cleared (the list is the fleet, not "0 of N")
    await expect
      .poll(() => page.getByTestId("admin-vehicle-row").filter({ hasText: id }).count(), poll)
      .toBe(0);
    await expect.poll(() => page.getByLabel("find a vehicle to manage").inputValue(), poll).toBe("");
    expect(await getVehicle(ui.platform.pool, id)).toBeUndefined();
  });

  it("imports a CSV with one bad row: the dry run creates nothing, the import the good rows, each row says why", async () => {
    await page.getByLabel("find a vehicle to manage").fill("");
    await page.getByRole("button", { name: "Import CSV" }).click();
    const csv = [
      "id,name,plate,imei",
      `${prefix}-a,Alpha,AB 1,`,
      "not valid!,Bad,,",
      `${prefix}-b,Bravo,,`,
    ].join("\n");
    await page.getByLabel("or paste it here").fill(csv);
    await page.getByRole("button", { name: "Check (dry run)" }).click();
    const result = page.getByTestId("import-result");
    await expect
      .poll(() => result.getByRole("status").textContent(), poll)
      .toContain("2 ready to import, 1 with problems");
    expect(await getVehicle(ui.platform.pool, `${prefix}-a`)).toBeUndefined();

    await page.getByRole("button", { name: "Import", exact: true }).click();
    await expect
      .poll(() => result.getByRole("status").textContent(), poll)
      .toBe("Imported: 2 created, 1 not imported.");
    const rows = result.getByTestId("import-row");
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-result")))).toEqual([
      "created",
      "invalid",
      "created",
    ]);
    expect(await rows.nth(1).textContent()).toMatch(/^3not valid!not valid: id: /);
    expect(await getVehicle(ui.platform.pool, `${prefix}-a`)).toMatchObject({ name: "Alpha", plate: "AB 1" });
    // the new secrets, once, and they work
    const secrets = (await page.getByTestId("import-secrets").inputValue()).split("\n");
    const [username, password] = (secrets[1] as string).split(",");
    const c = await connectDevice({
      url: ui.platform.mqttUrl,
      username: username as string,
      password: password as string,
    });
    expect(c.connected).toBe(true);
    await page.getByLabel("find a vehicle to manage").fill(prefix);
    await expect.poll(() => page.getByTestId("admin-vehicle-row").count(), poll).toBe(2);
  });

  it("exports the fleet as a CSV download, and a failed export says so on the page", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("vehicles.csv");
    const text = readFileSync((await download.path()) as string, "utf8");
    expect(text.split("\r\n")[0]).toBe("id,name,plate,imei,status,createdAt");
    expect(text).toContain(`${prefix}-a,Alpha,AB 1,,active,`);

    // the API refuses (a database outage); the page must not stay silent
    await page.route("**/api/vehicles/export.csv", (route) =>
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
    await page.getByRole("button", { name: "Export CSV" }).click();
    await expect
      .poll(() => page.getByTestId("export-error").textContent(), poll)
      .toBe("The export failed: A service the API needs is unavailable; retry later");
    await page.unroute("**/api/vehicles/export.csv");
  });

  it("shows a viewer no write controls and no People tab", async () => {
    const viewer = { username: `${prefix}-viewer`, password: "viewer-password" };
    await addUser(ui.platform.pool, { ...viewer, role: "viewer" });
    const other = await launchChromium();
    try {
      const p = await other.context.newPage();
      await login(p, viewer);
      await p.getByTestId("admin-vehicle-row").first().waitFor();
      expect(await p.getByRole("button", { name: "Export CSV" }).count()).toBe(1);
      for (const name of ["Add vehicle", "Import CSV"])
        expect(await p.getByRole("button", { name }).count()).toBe(0);
      expect(await p.getByRole("button", { name: "People", exact: true }).count()).toBe(0);
      await p.getByTestId("admin-vehicle-row").first().click();
      await p.getByTestId("vehicle-admin-detail").waitFor();
      for (const name of ["Rotate secret…", "Remove…", "Send command"])
        expect(await p.getByRole("button", { name }).count()).toBe(0);
    } finally {
      await other.close();
    }
  });
});
