import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addToken } from "../../core/api-tokens.ts";
import { topics } from "../../core/topics.ts";
import { addIntegration, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { openWs } from "./ws-client.ts";

const fix = (dLat: number) => JSON.stringify({ lat: 25.2 + dLat, lng: 55.3, recordedAt: Date.now() - 1000 });

/**
 * What an account limited to vehicle groups gets live: on /ws (api/live-hub.ts, a Set per socket)
 * and as an MQTT integration account subscribed to fleet/# (broker/hooks/authorize-forward.ts),
 * and that a change of grant or members reaches open sockets and sessions without a reconnect.
 */
describe("vehicle scope, live: /ws and MQTT integration accounts", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let a: DeviceCredentials;
  let b: DeviceCredentials;
  let groupA: number;
  let admin: { authorization: string };
  let base: string;
  const api = async (method: string, url: string, body?: unknown) =>
    h.app.inject({
      method: method as "POST",
      url,
      headers: { ...admin, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const publish = async (v: DeviceCredentials, client: MqttClient, dLat: number) =>
    client.publishAsync(topics.location(v.id), fix(dLat), { qos: 1 });

  beforeAll(async () => {
    p = await startPlatform();
    h = await startApi({ platform: p, liveFlushMs: 20 });
    admin = h.bearer(h.adminToken);
    base = await h.listen();
    [a, b] = (await p.register("live-sc", 2)) as [DeviceCredentials, DeviceCredentials];
    groupA = (await api("POST", "/api/groups", { name: "live-A" })).json().id;
    expect((await api("POST", `/api/groups/${groupA}/vehicles`, { vehicleIds: [a.id] })).statusCode).toBe(
      200,
    );
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  it("sends a limited viewer's socket only its vehicles, and more once its group grows", async () => {
    const t = await addToken(h.pool, { name: "live-viewer", role: "viewer" });
    await api("PUT", `/api/tokens/${t.id}/access`, { groupIds: [groupA] });
    const [da, db] = [await p.connect(a), await p.connect(b)];
    await publish(a, da, 0);
    await publish(b, db, 0.01);
    const watch = await openWs(`ws://${base}/ws`, h.bearer(h.adminToken));
    watch.send({ type: "subscribe" });
    await waitFor(
      async () => watch.messages.flatMap((m) => m.positions ?? []).map((x) => x.vehicleId),
      (ids) => ids.includes(a.id) && ids.includes(b.id),
      { what: "both positions live (admin)" },
    );
    const ws = await openWs(`ws://${base}/ws`, h.bearer(t.token));
    ws.send({ type: "subscribe" });
    const snap = await ws.next((m) => m.type === "snapshot");
    expect(snap.positions?.map((x) => x.vehicleId)).toEqual([a.id]);
    // deltas: b's, then a's; once a's is in, b's would have been
    const from = ws.messages.length;
    await publish(b, db, 0.02);
    await publish(a, da, 0.02);
    await ws.next((m) => m.type === "positions" && !!m.positions?.some((x) => x.vehicleId === a.id), from);
    const seen = ws.messages.flatMap((m) => m.positions ?? []).map((x) => x.vehicleId);
    expect(seen).not.toContain(b.id);

    // b joins the group: the socket is told, and b's next fix reaches it
    const mark = ws.messages.length;
    expect((await api("POST", `/api/groups/${groupA}/vehicles`, { vehicleIds: [b.id] })).statusCode).toBe(
      200,
    );
    await ws.next((m) => m.type === "access-changed", mark);
    await publish(b, db, 0.03);
    await ws.next((m) => m.type === "positions" && !!m.positions?.some((x) => x.vehicleId === b.id), mark);
    expect((await api("DELETE", `/api/groups/${groupA}/vehicles/${b.id}`)).statusCode).toBe(204);
    await ws.next((m) => m.type === "access-changed", mark + 1);
    ws.close();
    watch.close();
    da.end(true);
    db.end(true);
  });

  it("forwards to a limited integration account only its vehicles' messages, and follows its grant", async () => {
    const creds = await addIntegration(p.pool, "live-sc-dash");
    expect(
      (await api("PUT", `/api/integrations/${creds.username}/access`, { groupIds: [groupA] })).statusCode,
    ).toBe(200);
    const dash = await p.connect(creds);
    await dash.subscribeAsync("fleet/#", { qos: 1 });
    const got: string[] = [];
    dash.on("message", (topic) => got.push(topic));
    const [da, db] = [await p.connect(a), await p.connect(b)];
    await publish(b, db, 0);
    await publish(a, da, 0);
    // delivery to one subscriber keeps publish order: once a's is in, b's would be
    await waitFor(
      async () => got,
      (g) => g.includes(topics.location(a.id)),
      { what: "a's fix at the dashboard" },
    );
    expect(got).not.toContain(topics.location(b.id));

    // the whole fleet, granted while connected: b's messages arrive on the same session
    expect(
      (await api("PUT", `/api/integrations/${creds.username}/access`, { allVehicles: true, groupIds: [] }))
        .statusCode,
    ).toBe(200);
    await waitFor(
      async () => {
        await publish(b, db, 0.01);
        return got;
      },
      (g) => g.includes(topics.location(b.id)),
      { what: "b's fix at the dashboard after the grant" },
    );
    expect(dash.connected).toBe(true);
    dash.end(true);
    da.end(true);
    db.end(true);
  });
});
