import { type Socket, connect as tcpConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { labelledField } from "../../../core/metrics-catalogue.ts";
import { redisKeys } from "../../../core/redis.ts";
import type { DeviceCredentials } from "../../../core/vehicles.ts";
import { type ApiHarness, startApi } from "../../api/harness.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { waitFor } from "../../support/wait.ts";

// Found by the attacker trial of the security issue (docs/security.md, finding 19): TCP
// connections that never send a byte passed every limit (they count CONNECTs and requests), and
// 20,000 of them used up the broker's and the API's file descriptors: no device connected and
// /health answered nobody. Open connections are now capped per address and in total when
// accepted, and a silent MQTT connection is closed after MQTT_CONNECT_TIMEOUT_MS.
const CAP = 20;
const OPENED = 60;

/** Opens a TCP connection from `localAddress` that sends nothing; resolves once it is established. */
function openSilent(port: number, localAddress: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: "127.0.0.1", localAddress });
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.on("error", () => {});
    socket.once("connect", () => resolve({ socket, closed }));
    socket.once("error", reject);
  });
}

/** How many of `conns` the server has closed (reset or ended) within a moment. */
async function closedCount(conns: { closed: Promise<void> }[], expectAtLeast: number): Promise<number> {
  let n = 0;
  for (const c of conns) void c.closed.then(() => n++);
  await waitFor(
    async () => n,
    (x) => x >= expectAtLeast,
    { what: `${expectAtLeast} connections closed by the server`, timeoutMs: 10_000 },
  ).catch(() => undefined);
  return n;
}

describe("finding 19: silent connections cannot use up the broker's or the API's connections", () => {
  let p: TestPlatform | undefined;
  let api: ApiHarness | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await api?.close();
    await p?.close();
    api = undefined;
    p = undefined;
  });

  it("finding 19: the broker resets silent connections from one address past MQTT_MAX_CONNECTIONS_PER_ADDRESS, closes the rest after MQTT_CONNECT_TIMEOUT_MS, and a device on another address connects meanwhile", async () => {
    p = await startPlatform({
      env: { MQTT_MAX_CONNECTIONS_PER_ADDRESS: String(CAP), MQTT_CONNECT_TIMEOUT_MS: "1500" },
    });
    const platform = p;
    const [device] = (await p.register("silent-victim", 1)) as [DeviceCredentials];
    const conns = [];
    for (let i = 0; i < OPENED; i++) conns.push(await openSilent(p.broker.ports.mqtt, "127.0.0.2"));
    sockets.push(...conns.map((c) => c.socket));

    // the ones past the cap are reset at once; the cap's worth stays open until the connect timeout
    const resetAtOnce = await closedCount(conns, OPENED - CAP);
    expect(resetAtOnce).toBe(OPENED - CAP);
    expect(platform.broker.limits.refused.addressConnections).toBe(OPENED - CAP);

    const client = await platform.connect(device);
    expect(client.connected).toBe(true);
    await client.endAsync();

    await Promise.all(conns.map((c) => c.closed));
    await waitFor(
      () =>
        platform.redis.hget(
          redisKeys.metrics,
          labelledField("broker_connects_refused", "address_connections"),
        ),
      (v) => Number(v) === OPENED - CAP,
      { what: "the resets counted in the metrics hash" },
    );
  });

  it("finding 19: the API resets HTTP connections from one address past HTTP_MAX_CONNECTIONS_PER_ADDRESS and keeps answering others", async () => {
    api = await startApi({ env: { HTTP_MAX_CONNECTIONS_PER_ADDRESS: String(CAP) } });
    const base = await api.listen();
    const port = Number(base.split(":").at(-1));
    const conns = [];
    for (let i = 0; i < OPENED; i++) conns.push(await openSilent(port, "127.0.0.2"));
    sockets.push(...conns.map((c) => c.socket));

    expect(await closedCount(conns, OPENED - CAP)).toBe(OPENED - CAP);
    // a client on another address is answered (not reset, not left waiting)
    const me = await fetch(`http://${base}/api/auth/me`, { headers: api.bearer(api.viewerToken) });
    expect(me.status).toBe(200);
    const metrics = await api.app.inject({ url: "/metrics", headers: api.bearer(api.viewerToken) });
    expect(metrics.body).toContain(
      `logitrack_api_connections_refused_total{reason="address"} ${OPENED - CAP}`,
    );
  });
});
