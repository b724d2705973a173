import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGroup } from "../../core/vehicle-groups.ts";
import { clientIdOf } from "../support/client-id.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const poll = { timeout: 30_000, interval: 100 };
const prefix = `pp${randomBytes(3).toString("hex")}`;

let ui: UiPlatform;
let admin: Browser;
let page: Page;

const onLoginPage = (p: Page) => p.getByRole("button", { name: "Log in" }).count();

beforeAll(async () => {
  ui = await startUiPlatform();
  await createGroup(ui.platform.pool, `${prefix} North`);
  admin = await launchChromium();
  page = await admin.context.newPage();
  await logIn(page, ui.baseUrl, ui.admin);
  await page.getByRole("button", { name: "People", exact: true }).click();
});

afterAll(async () => {
  await admin?.close();
  await ui?.close();
});

describe("people and access in the web app (Chromium)", () => {
  const users = () => page.getByTestId("people-users");

  it("adds a user with a generated password, who logs in; disabling them logs them out at their next request", async () => {
    const username = `${prefix}-dana`;
    const form = page.getByRole("form", { name: "add a user" });
    await form.getByLabel("Username").fill(username);
    await form.getByLabel("Role").selectOption("viewer");
    await form.getByRole("button", { name: "Add user" }).click();
    const password = (await users().getByTestId("user-password").textContent()) as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/);

    const other = await launchChromium();
    try {
      const p = await other.context.newPage();
      await logIn(p, ui.baseUrl, { username, password });
      await p.getByRole("button", { name: "Reports", exact: true }).click();
      expect(await onLoginPage(p)).toBe(0);

      // the row says what the new user sees
      expect(
        await users().locator(`[data-username="${username}"]`).getByTestId("user-sees").textContent(),
      ).toBe("whole fleet");
      await users()
        .getByRole("button", { name: `disable ${username}` })
        .click();
      // asked first: nothing happens until confirmed
      const ask = users().getByRole("alertdialog");
      expect(await ask.textContent()).toContain(`Disable ${username}?`);
      expect(await users().locator(`[data-username="${username}"]`).textContent()).not.toContain("disabled");
      await ask.getByRole("button", { name: "Disable user" }).click();
      await expect
        .poll(() => users().locator(`[data-username="${username}"]`).textContent(), poll)
        .toContain("disabled");
      // the next request of the other browser is refused: it is back on the login page
      await p.getByRole("button", { name: "Vehicles", exact: true }).click();
      await p
        .getByRole("button", { name: "Reports", exact: true })
        .click()
        .catch(() => {});
      await expect.poll(() => onLoginPage(p), poll).toBe(1);
      expect(await p.getByRole("alert").textContent()).toMatch(/session has ended/);
      // and a disabled user cannot log in again
      await p.getByLabel("Username").fill(username);
      await p.getByLabel("Password").fill(password);
      await p.getByRole("button", { name: "Log in" }).click();
      await expect
        .poll(() => p.getByRole("alert").textContent(), poll)
        .toMatch(/wrong username or password/i);
    } finally {
      await other.close();
    }
  });

  it("resets a password: the new one is shown once and works", async () => {
    const username = `${prefix}-eli`;
    const form = page.getByRole("form", { name: "add a user" });
    await form.getByLabel("Username").fill(username);
    await form.getByLabel("Password (empty: generate one)").fill("eli-first-password");
    await form.getByRole("button", { name: "Add user" }).click();
    await users().locator(`[data-username="${username}"]`).waitFor();
    await users()
      .getByRole("button", { name: `reset the password of ${username}` })
      .click();
    await users().getByRole("alertdialog").getByRole("button", { name: "Reset password" }).click();
    const password = (await users().getByTestId("user-password").textContent()) as string;
    const res = await fetch(`${ui.baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status).toBe(200);
  });

  it("creates an API token (shown once) that works, and revokes it", async () => {
    const tokens = page.getByTestId("people-tokens");
    await tokens.getByLabel("Token name").fill(`${prefix}-grafana`);
    await tokens.getByLabel("Expires after").selectOption("7");
    await tokens.getByRole("button", { name: "Create token" }).click();
    const token = (await tokens.getByTestId("new-token").textContent()) as string;
    // listed with its expiry, a week ahead, in the display zone
    const row = tokens.getByTestId("token-row").filter({ hasText: `${prefix}-grafana` });
    await expect
      .poll(() => row.getByTestId("token-expiry").textContent(), poll)
      .toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [A-Z]{2,5}/);
    const stored = await ui.platform.pool.query<{ days: number }>(
      "SELECT extract(epoch FROM expires_at - now()) / 86400 AS days FROM api_tokens WHERE name = $1",
      [`${prefix}-grafana`],
    );
    expect(Number(stored.rows[0]?.days)).toBeGreaterThan(6.9);
    expect(Number(stored.rows[0]?.days)).toBeLessThanOrEqual(7);
    const get = () => fetch(`${ui.baseUrl}/api/vehicles`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get()).status).toBe(200);
    await tokens.getByRole("button", { name: `revoke token ${prefix}-grafana` }).click();
    await expect.poll(() => tokens.getByTestId("token-row").last().textContent(), poll).toContain("revoked");
    expect((await get()).status).toBe(401);
  });

  it("creates a token limited to a group that expires after a day", async () => {
    const tokens = page.getByTestId("people-tokens");
    await tokens.getByLabel("Token name").fill(`${prefix}-north`);
    await tokens.getByLabel("Expires after").selectOption("1");
    await tokens.getByLabel(`${prefix} North`).check();
    await tokens.getByRole("button", { name: "Create token" }).click();
    await tokens.getByTestId("new-token").waitFor();
    const row = tokens.getByTestId("token-row").filter({ hasText: `${prefix}-north` });
    await expect.poll(() => row.getByTestId("token-groups").textContent(), poll).toContain(`${prefix} North`);
    const stored = await ui.platform.pool.query<{ days: number; groups: string[] }>(
      `SELECT extract(epoch FROM t.expires_at - now()) / 86400 AS days,
              array(SELECT g.name FROM token_groups tg JOIN vehicle_groups g ON g.id = tg.group_id WHERE tg.token_id = t.id) AS groups
       FROM api_tokens t WHERE t.name = $1`,
      [`${prefix}-north`],
    );
    expect(Number(stored.rows[0]?.days)).toBeGreaterThan(0.9);
    expect(Number(stored.rows[0]?.days)).toBeLessThanOrEqual(1);
    expect(stored.rows[0]?.groups).toEqual([`${prefix} North`]);
  });

  it("creates an integration account that connects over MQTT, and revokes it", async () => {
    const section = page.getByTestId("people-integrations");
    const name = `${prefix}-dash`;
    await section.getByLabel("Integration name").fill(name);
    await section.getByRole("button", { name: "Create" }).click();
    const password = (await section.getByTestId("integration-password").textContent()) as string;
    const opts = { username: name, password, clientId: clientIdOf(name), reconnectPeriod: 0 };
    const client = await mqtt.connectAsync(ui.platform.mqttUrl, opts);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await section.getByRole("button", { name: `revoke integration ${name}` }).click();
    await closed;
    await expect(mqtt.connectAsync(ui.platform.mqttUrl, opts)).rejects.toThrow(/Not authorized|Bad username/);
  });

  it("logs out everywhere: this browser is back on the login page and its cookie is refused", async () => {
    const cookie = (await admin.context.cookies()).find((c) => c.name === "lt_session");
    await page.getByRole("button", { name: "Log out everywhere" }).click();
    await expect.poll(() => onLoginPage(page), poll).toBe(1);
    const me = await fetch(`${ui.baseUrl}/api/auth/me`, {
      headers: { cookie: `lt_session=${cookie?.value}` },
    });
    expect(me.status).toBe(401);
  });
});
