import { request } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashDeviceSecret } from "../../core/credentials.ts";
import type { Fix } from "../../core/fix.ts";
import { defineLiveUpdate, liveArgs, liveKeys } from "../../core/live-state.ts";
import { channelOf } from "../../core/redis.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { openWs } from "./ws-client.ts";

const N = 500;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** the bytes as they came over the wire */
  body: Buffer;
}

/** A GET with exactly these headers over real HTTP (fetch would add its own Accept-Encoding and decode). */
function get(base: string, path: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(`http://${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("compressed API responses", () => {
  let h: ApiHarness;
  let base: string;
  let auth: { authorization: string };

  beforeAll(async () => {
    h = await startApi();
    auth = h.bearer(h.adminToken);
    base = await h.listen();
    // 500 vehicles with a live position each, as the map's first load asks for them
    await h.pool.query(
      `INSERT INTO vehicles (id, name, credential_hash)
       SELECT 'cmp-' || g, 'Truck ' || g, $1 FROM generate_series(1, $2::int) g`,
      [hashDeviceSecret("compression-test-secret"), N],
    );
    const now = Date.now();
    const fixes: Fix[] = Array.from({ length: N }, (_, k) => ({
      vehicleId: `cmp-${k + 1}`,
      recordedAt: now,
      receivedAt: now,
      messageId: `m${k}`,
      lat: 25.2 + (k % 50) / 1000,
      lng: 55.27 + Math.floor(k / 50) / 1000,
      speed: k % 3 === 0 ? 0 : 42.5,
      heading: (k * 7) % 360,
      ignition: true,
    }));
    const redis = defineLiveUpdate(h.redis);
    await redis.liveUpdate(...liveArgs(fixes, channelOf(redis, liveKeys.liveChannel)));
  });
  afterAll(() => h?.close());

  const VEHICLES = `/api/vehicles?limit=1000`;

  it("answers /api/vehicles in brotli to a client that takes br, decoding to the same JSON as the plain answer", async () => {
    const plain = await get(base, VEHICLES, { ...auth });
    expect(plain.status).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    const json = JSON.parse(plain.body.toString("utf8"));
    expect(json.items).toHaveLength(N);

    const br = await get(base, VEHICLES, { ...auth, "accept-encoding": "br" });
    expect(br.status).toBe(200);
    expect(br.headers["content-encoding"]).toBe("br");
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(JSON.parse(brotliDecompressSync(br.body).toString("utf8"))).toEqual(json);

    const gz = await get(base, VEHICLES, { ...auth, "accept-encoding": "gzip" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(gz.body).toString("utf8"))).toEqual(json);

    // a browser's list: brotli first
    const browser = await get(base, VEHICLES, { ...auth, "accept-encoding": "gzip, deflate, br, zstd" });
    expect(browser.headers["content-encoding"]).toBe("br");
    expect(br.body.length).toBeLessThan(plain.body.length / 4);
    process.stderr.write(
      `/api/vehicles, ${N} vehicles: ${plain.body.length} bytes plain, ${br.body.length} br, ${gz.body.length} gzip\n`,
    );
  });

  it("sends a body under the threshold as it is", async () => {
    const small = await get(base, "/api/ui/config", { ...auth, "accept-encoding": "br, gzip" });
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(1024);
    expect(small.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(small.body.toString("utf8"))).toHaveProperty("tileUrl");
  });

  it("compresses a streamed CSV export, and it decodes to every row", async () => {
    const csv = await get(base, "/api/vehicles/export.csv", { ...auth, "accept-encoding": "br" });
    expect(csv.status).toBe(200);
    expect(csv.headers["content-encoding"]).toBe("br");
    const lines = brotliDecompressSync(csv.body).toString("utf8").trim().split("\r\n");
    expect(lines[0]).toBe("id,name,plate,imei,status,createdAt");
    expect(lines).toHaveLength(N + 1);
  });

  it("leaves the live WebSocket working for a client that offers compression", async () => {
    const ws = await openWs(`ws://${base}/ws`, { ...auth, "accept-encoding": "gzip, deflate, br" });
    ws.send({ type: "subscribe", bbox: [55, 25, 56, 26] });
    const snap = await ws.next((m) => m.type === "snapshot");
    expect(snap.positions?.length).toBe(N);
    ws.close();
  });
});
