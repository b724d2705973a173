import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "../../core/users.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const poll = { timeout: 30_000, interval: 100 };
const prefix = `ac${randomBytes(3).toString("hex")}`;
const operator = { username: `${prefix}-olga`, password: "operator-password" };
const viewer = { username: `${prefix}-vic`, password: "viewer-password" };
const [carA, carB] = [`${prefix}-0`, `${prefix}-1`];

let ui: UiPlatform;
const browsers: Browser[] = [];

async function open(user: { username: string; password: string }): Promise<Page> {
  const b = await launchChromium();
  browsers.push(b);
  const page = await b.context.newPage();
  await logIn(page, ui.baseUrl, user);
  return page;
}

const tab = (p: Page, name: string) => p.getByRole("button", { name, exact: true });
const geofenceRow = (p: Page, name: string) =>
  p.locator(`[data-testid="geofence-row"][data-geofence-name="${name}"]`);
const geofence = (name: string) =>
  ui.platform.pool.query(
    `INSERT INTO geofences (name, polygon) VALUES ($1, ST_MakeEnvelope(55.27, 25.2, 55.28, 25.21, 4326))`,
    [name],
  );

/** The vehicle ids the Manage tab lists. */
async function managed(p: Page): Promise<string[]> {
  await tab(p, "Manage").click();
  await p.getByLabel("find a vehicle to manage").fill(prefix);
  const rows = p.getByTestId("admin-vehicle-row");
  return (await rows.allTextContents()).map((t) => new RegExp(`${prefix}-\\d+`).exec(t)?.[0] ?? t).sort();
}

beforeAll(async () => {
  ui = await startUiPlatform({ worker: false });
  await ui.platform.register(prefix, 2);
  await addUser(ui.platform.pool, { ...operator, role: "operator" });
  await addUser(ui.platform.pool, { ...viewer, role: "viewer" });
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  await ui?.close();
});

describe("roles, groups and the audit log in the web app (Chromium)", () => {
  let admin: Page;

  it("gives an operator the vehicle and geofence controls, and not People, Groups or Audit", async () => {
    await geofence(`${prefix} yard`);
    const p = await open(operator);
    p.on("dialog", (d) => void d.accept()); // "Delete geofence …?"
    for (const name of ["People", "Groups", "Audit"]) expect(await tab(p, name).count()).toBe(0);

    await tab(p, "Manage").click();
    expect(await p.getByRole("button", { name: "Add vehicle" }).count()).toBe(1);
    expect(await p.getByRole("button", { name: "Import CSV" }).count()).toBe(0);
    await p.getByLabel("find a vehicle to manage").fill(carA);
    await p.getByLabel("find a vehicle to manage").press("Enter");
    const detail = p.getByTestId("vehicle-admin-detail");
    await detail.waitFor();
    for (const name of ["Rotate secret…", "Remove…", "Send command"])
      expect(await detail.getByRole("button", { name }).count()).toBe(1);
    const form = detail.getByRole("form", { name: "edit vehicle" });
    await form.getByLabel("Name").fill("Renamed by the operator");
    await form.getByRole("button", { name: /^Save/ }).click();
    await expect
      .poll(
        async () =>
          (await ui.platform.pool.query("SELECT name FROM vehicles WHERE id = $1", [carA])).rows[0]?.name,
        poll,
      )
      .toBe("Renamed by the operator");

    await tab(p, "Geofences").click();
    expect(await p.getByTestId("draw-geofence").count()).toBe(1);
    await geofenceRow(p, `${prefix} yard`).getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => geofenceRow(p, `${prefix} yard`).count(), poll).toBe(0);
    const left = await ui.platform.pool.query("SELECT 1 FROM geofences WHERE name = $1", [`${prefix} yard`]);
    expect(left.rowCount).toBe(0);
  });

  it("gives a viewer no edit or geofence controls", async () => {
    await geofence(`${prefix} gate`);
    const p = await open(viewer);
    await expect.poll(() => managed(p), poll).toEqual([carA, carB]);
    expect(await p.getByRole("button", { name: "Add vehicle" }).count()).toBe(0);
    await p.getByLabel("find a vehicle to manage").press("Enter");
    const form = p.getByTestId("vehicle-admin-detail").getByRole("form", { name: "edit vehicle" });
    await form.waitFor();
    expect(await form.getByRole("button", { name: /^Save/ }).isDisabled()).toBe(true);
    await tab(p, "Geofences").click();
    await geofenceRow(p, `${prefix} gate`).waitFor();
    expect(await p.getByTestId("draw-geofence").count()).toBe(0);
    expect(await geofenceRow(p, `${prefix} gate`).getByRole("button").count()).toBe(1); // its name only
    for (const name of ["People", "Groups", "Audit"]) expect(await tab(p, name).count()).toBe(0);
  });

  it("creates a group, adds a vehicle and a viewer to it: the viewer then sees that vehicle only", async () => {
    admin = await open(ui.admin);
    await tab(admin, "Groups").click();
    const groups = admin.getByTestId("groups-admin");
    const name = `North ${prefix}`;
    await groups.getByLabel("Group name").fill(name);
    await groups.getByRole("button", { name: "Create group" }).click();
    const members = admin.getByTestId("group-members");
    await expect.poll(() => members.getByRole("heading", { level: 3 }).textContent(), poll).toBe(name);
    await members.getByLabel("Vehicle to add").fill(carA);
    await members.getByRole("button", { name: "Add to group" }).click();
    await expect
      .poll(() => members.getByTestId("group-vehicle").allTextContents(), poll)
      .toEqual([`${carA}Remove`]);
    await expect
      .poll(() => groups.locator(`[data-testid="group-row"][data-group="${name}"]`).textContent(), poll)
      .toContain("1 vehicle");
    const tick = members.getByLabel(`${viewer.username} sees ${name}`);
    // checked once the API has answered and the list is read again
    await tick.click();
    await expect.poll(() => tick.isChecked(), poll).toBe(true);

    const p = await open(viewer);
    await expect.poll(() => managed(p), poll).toEqual([carA]);
    const api = await p.evaluate(async () => (await fetch("/api/vehicles/export.csv")).text());
    expect(api).toContain(carA);
    expect(api).not.toContain(carB);
  });

  it("shows the writes in the audit log, filtered, with times in their zone", async () => {
    await tab(admin, "Audit").click();
    const log = admin.getByTestId("audit-log");
    await log.getByLabel("Action contains").fill("groups");
    await log.getByRole("button", { name: "Filter" }).click();
    const rows = log.getByTestId("audit-row");
    await expect
      .poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-action"))), poll)
      .toEqual(["POST /api/groups/:id/vehicles", "POST /api/groups"]);
    const added = log.locator('[data-testid="audit-row"][data-action="POST /api/groups/:id/vehicles"]');
    expect(await added.textContent()).toContain(ui.admin.username);
    // the action in words, the change as before → after of what changed
    expect(await added.textContent()).toContain(`added vehicle ${carA} to group North ${prefix}`);
    expect(await added.getByTestId("audit-change").textContent()).toContain(`vehicleIds: none → ${carA}`);
    expect(await added.getByTestId("audit-change").textContent()).toContain("vehicles: 0 → 1");
    expect(await added.locator("td").first().textContent()).toMatch(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [A-Z]{2,5}([+-]\d{1,2}(:\d{2})?)?$/,
    );

    // the operator's rename, by who did it
    await log.getByLabel("Action contains").fill("");
    await log.getByLabel("Who").fill(`user:${operator.username}`);
    await log.getByRole("button", { name: "Filter" }).click();
    await expect
      .poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-action"))), poll)
      .toEqual(["DELETE /api/geofences/:id", "PATCH /api/vehicles/:id", "POST /api/auth/login"]);
    expect(await rows.nth(1).textContent()).toContain("Renamed by the operator");

    // a grant change names the user; every column is inside the window at 1280 × 800
    await admin.setViewportSize({ width: 1280, height: 800 });
    await log.getByLabel("Who").fill("");
    await log.getByLabel("Action contains").fill("access");
    await log.getByRole("button", { name: "Filter" }).click();
    const grant = rows.filter({ hasText: `changed access of user ${viewer.username}` });
    await expect.poll(() => grant.count(), poll).toBe(1);
    expect(await grant.getByTestId("audit-change").textContent()).toMatch(/groupIds: none → \d+/);
    const right = await log
      .locator("th")
      .evaluateAll((ths) => ths.map((t) => t.getBoundingClientRect().right));
    expect(right).toHaveLength(6);
    for (const r of right) expect(r).toBeLessThanOrEqual(1280);
  });

  it("lets an operator limited to a group add a vehicle into it, and see it", async () => {
    const name = `North ${prefix}`;
    await tab(admin, "Groups").click();
    await admin.getByRole("button", { name, exact: true }).click();
    const tick = admin.getByTestId("group-members").getByLabel(`${operator.username} sees ${name}`);
    await tick.click();
    await expect.poll(() => tick.isChecked(), poll).toBe(true);

    const p = await open(operator);
    await expect.poll(() => managed(p), poll).toEqual([carA]);
    await p.getByRole("button", { name: "Add vehicle" }).click();
    const form = p.getByRole("form", { name: "add a vehicle" });
    await form.getByLabel("Vehicle id").fill(`${prefix}-2`);
    await form.getByLabel(name).check();
    await form.getByRole("button", { name: "Add vehicle" }).click();
    await p.getByTestId("vehicle-secret").waitFor();
    await p.getByRole("button", { name: "Done, I have copied it" }).click();
    await expect.poll(() => managed(p), poll).toEqual([carA, `${prefix}-2`]);
  });
});
