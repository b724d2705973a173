import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "../../core/users.ts";
import { createGroup, getGrant, setGrant } from "../../core/vehicle-groups.ts";
import { type Browser, launchChromium } from "./browser.ts";
import { logIn } from "./log-in.ts";
import { startUiPlatform, type UiPlatform } from "./ui-platform.ts";

const poll = { timeout: 30_000, interval: 100 };
const prefix = `tf${randomBytes(3).toString("hex")}`;
const viewer = { username: `${prefix}-view1`, password: "viewer-password" };

let ui: UiPlatform;
const browsers: Browser[] = [];
async function newPage(): Promise<Page> {
  const b = await launchChromium();
  browsers.push(b);
  return b.context.newPage();
}
const tab = (p: Page, name: string) => p.getByRole("button", { name, exact: true });
const grant = () => getGrant(ui.platform.pool, { user: viewer.username });

beforeAll(async () => {
  ui = await startUiPlatform({ worker: false });
  await addUser(ui.platform.pool, { ...viewer, role: "viewer" });
  await ui.platform.register(prefix, 1);
});
afterAll(async () => {
  for (const b of browsers) await b.close();
  await ui?.close();
});

/** Trial 17's findings 3 and 10 (docs in the report of issue 17). */
describe("trial fixes in Chromium", () => {
  it("opens the login page without a failed request or a console error", async () => {
    const p = await newPage();
    const problems: string[] = [];
    p.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    p.on("response", (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    await p.goto(ui.baseUrl);
    await p.getByRole("button", { name: "Log in" }).waitFor();
    expect(problems).toEqual([]);
  });

  it("tells a user whose session was ended why they are on the login page", async () => {
    const p = await newPage();
    await logIn(p, ui.baseUrl, viewer);
    await ui.platform.pool.query(
      "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)",
      [viewer.username],
    );
    // any request now ends on the login page; a background one may already have taken it there
    await tab(p, "Reports")
      .click({ timeout: 5_000 })
      .catch(() => {});
    await expect
      .poll(
        () =>
          p
            .getByRole("alert")
            .textContent()
            .catch(() => ""),
        poll,
      )
      .toMatch(/session has ended/);
    expect(await p.getByRole("button", { name: "Log in" }).count()).toBe(1);
  });

  it("names the map's geofence draw button", async () => {
    const p = await newPage();
    await logIn(p, ui.baseUrl, ui.admin);
    await tab(p, "Geofences").click();
    // geoman adds its toolbar once the map knows the user may edit: wait for it, then it is one named button
    const draw = p.getByRole("button", { name: "Draw a geofence on the map" });
    await expect.poll(() => draw.count(), poll).toBe(1);
  });

  it("groups: a tick shows at once and holds while saving; the last group is not silently unticked", async () => {
    const north = await createGroup(ui.platform.pool, `North ${prefix}`);
    const p = await newPage();
    await logIn(p, ui.baseUrl, ui.admin);
    await tab(p, "Groups").click();
    await p.getByRole("button", { name: north.name, exact: true }).click();
    const members = p.getByTestId("group-members");
    const tick = members.getByLabel(`${viewer.username} sees ${north.name}`);
    await tick.waitFor();
    expect(await tick.isChecked()).toBe(false);

    // the save is held in the browser until released: the tick shows what is being saved
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const saves: string[] = [];
    await p.route("**/api/users/*/access", async (route) => {
      saves.push(route.request().postData() ?? "");
      await held;
      await route.continue();
    });
    await tick.click();
    expect(await tick.isChecked()).toBe(true);
    expect(await tick.isDisabled()).toBe(true);
    await tick.click({ force: true }); // a quick second click: ignored while saving
    release();
    await expect.poll(async () => (await grant())?.groupIds, poll).toEqual([north.id]);
    await expect.poll(() => tick.isDisabled(), poll).toBe(false);
    expect(await tick.isChecked()).toBe(true);
    expect(saves).toHaveLength(1);
    await p.unroute("**/api/users/*/access");
    expect(
      await members.getByTestId("group-user").filter({ hasText: viewer.username }).textContent(),
    ).toContain("1 group)");

    // unticking the only group would leave them nothing: refused, said why, and the whole fleet offered
    await tick.click();
    await expect
      .poll(
        () =>
          members
            .getByRole("alert")
            .textContent()
            .catch(() => ""),
        poll,
      )
      .toContain("unticking it would leave them no vehicle");
    expect(await tick.isChecked()).toBe(true);
    expect(await grant()).toEqual({ allVehicles: false, groupIds: [north.id] });
    await members.getByRole("button", { name: `Whole fleet for ${viewer.username}` }).click();
    await expect.poll(async () => (await grant())?.allVehicles, poll).toBe(true);
    await expect.poll(() => tick.isChecked(), poll).toBe(false);

    // someone already left with nothing (the API allows it) gets the whole fleet back the same way
    await setGrant(
      ui.platform.pool,
      undefined,
      { user: viewer.username },
      { allVehicles: false, groupIds: [] },
    );
    await tab(p, "Audit").click();
    await tab(p, "Groups").click();
    await p.getByRole("button", { name: north.name, exact: true }).click();
    const row = members.getByTestId("group-user").filter({ hasText: viewer.username });
    await expect.poll(() => row.textContent(), poll).toContain("0 groups)");
    await members.getByRole("button", { name: `Whole fleet for ${viewer.username}` }).click();
    await expect.poll(async () => (await grant())?.allVehicles, poll).toBe(true);
  });

  it("history: Show track fits the track with its start clear of the legend (a track from the south-west)", async () => {
    const vehicleId = `${prefix}-0`;
    const r = await ui.platform.pool.query<{ t: number }>(
      `SELECT extract(epoch FROM (date_trunc('day', now() AT TIME ZONE $1) - interval '1 day' + interval '8 hours')
         AT TIME ZONE $1)::float8 * 1000 AS t`,
      [ui.platform.config.FLEET_TZ],
    );
    const t0 = r.rows[0]?.t as number;
    await ui.platform.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(t0)]);
    // south-west to north-east: fitted, the start is the bottom-left corner, where the legend is
    await ui.platform.pool.query(
      `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, received_at)
       SELECT $1, to_timestamp(($2::float8 + i * 60000) / 1000), ST_SetSRID(ST_MakePoint(55.0 + i * 0.0131, 25.0 + i * 0.01), 4326), 30, now()
       FROM generate_series(0, 29) AS i`,
      [vehicleId, t0],
    );
    const p = await newPage();
    await p.setViewportSize({ width: 1280, height: 800 });
    await logIn(p, ui.baseUrl, ui.admin);
    await tab(p, "History").click();
    const form = p.getByRole("form", { name: "track" });
    await form.getByLabel("Vehicle").selectOption(vehicleId);
    await form.getByRole("button", { name: "Yesterday" }).click();
    await expect.poll(() => p.locator(".replay").textContent(), poll).toContain("30 fixes");
    const legend = await p.getByRole("region", { name: "legend" }).boundingBox();
    if (!legend) throw new Error("no legend");
    await expect
      .poll(async () => {
        const b = await p.locator("path.track-start").boundingBox();
        if (!b) return "not drawn";
        const under =
          b.x + b.width > legend.x &&
          b.x < legend.x + legend.width &&
          b.y + b.height > legend.y &&
          b.y < legend.y + legend.height;
        return under ? `under the legend: ${JSON.stringify({ b, legend })}` : "clear";
      }, poll)
      .toBe("clear");
  });
});
