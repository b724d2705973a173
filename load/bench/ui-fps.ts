import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import mqtt, { type MqttClient } from "mqtt";
import { hashDeviceSecret } from "../../core/credentials.ts";
import { liveKeys } from "../../core/live-state.ts";
import { channelOf, createRedis } from "../../core/redis.ts";
import { topics } from "../../core/topics.ts";
import { addUser } from "../../core/users.ts";
import { launchChromium } from "../../test/ui/browser.ts";
import { UsageError, usageOr, wholeNumber } from "./args.ts";
import { startUiBenchPlatform } from "./ui-platform.ts";

/**
 * `npm run bench:ui`: the browser's frame rate on the live map with N vehicles (default 5,000)
 * each sending a fix every second over MQTT, through the whole platform (broker, bridge,
 * worker, API live socket) into Chromium. Counts requestAnimationFrame callbacks for --seconds
 * (default 20) while the canvas layer redraws, and prints fps. The devices run in a child
 * process (this file with --publisher), so their MQTT work is not on the API's event loop.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      publisher: { type: "string" },
      vehicles: { type: "string", default: "5000" },
      seconds: { type: "string", default: "20" },
      // mqtt: devices publish through broker, bridge, worker (the product). redis: positions go
      // straight into the live hash and channel in the bridge's format, to see the UI alone at full rate
      feed: { type: "string", default: "mqtt" },
    },
  }),
);
const { vehicles, seconds, feed } = usageOr(() => {
  if (args.feed !== "mqtt" && args.feed !== "redis")
    throw new UsageError(`--feed wants mqtt or redis, got '${args.feed}'`);
  return {
    vehicles: wholeNumber("vehicles", args.vehicles as string, 1, 100_000),
    seconds: wholeNumber("seconds", args.seconds as string, 1, 3600),
    feed: args.feed as "mqtt" | "redis",
  };
});

// the fleet drives inside this box; the map shows all of it at zoom 10
const AREA = { lat: 25.2, lng: 55.3, dLat: 0.25, dLng: 0.4 };
const log = (m: string) => process.stdout.write(`[ui-fps ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

interface PublisherJob {
  feed: "mqtt" | "redis";
  url: string;
  redisUrl: string;
  ids: string[];
  password: string;
}

if (args.publisher) await runPublisher(JSON.parse(readFileSync(args.publisher, "utf8")) as PublisherJob);
else await main();

async function main(): Promise<void> {
  const n = vehicles;
  const platform = await startUiBenchPlatform({
    name: "bench-ui",
    ports: { pg: "54397", redis: "63897" },
    poolSize: 10,
    env: {
      // the publisher's thousands of devices all connect from 127.0.0.1
      MQTT_CONNECT_RATE_PER_ADDRESS: process.env.MQTT_CONNECT_RATE ?? "2000",
      MQTT_MAX_CONNECTIONS_PER_ADDRESS: "0",
      MQTT_MAX_CONNECTIONS: "0",
    },
    log,
  });
  const { config, pool, redis, broker, app, baseUrl } = platform;
  await addUser(pool, { username: "bench", password: "bench-password", role: "admin" });

  const password = "bench-ui-secret-not-for-production";
  await pool.query(
    "INSERT INTO vehicles (id, credential_hash) SELECT 'fps-' || g, $1 FROM generate_series(0, $2 - 1) g",
    [hashDeviceSecret(password), n],
  );
  const dir = mkdtempSync(join(tmpdir(), "ui-fps-"));
  const jobFile = join(dir, "job.json");
  const job: PublisherJob = {
    feed,
    redisUrl: config.REDIS_URL,
    url: `mqtt://127.0.0.1:${broker.ports.mqtt}`,
    ids: Array.from({ length: n }, (_, i) => `fps-${i}`),
    password,
  };
  writeFileSync(jobFile, JSON.stringify(job));
  log(`platform up (${baseUrl}); starting ${n} devices (feed: ${job.feed})`);
  const publisher = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "--publisher", jobFile],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await waitForLine(publisher, /"connected":/);
  log("devices connected and publishing");

  const browser = await launchChromium({ width: 1280, height: 800 });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/#map=10/${AREA.lat}/${AREA.lng}`);
    await page.getByLabel("Username").fill("bench");
    await page.getByLabel("Password").fill("bench-password");
    await page.getByRole("button", { name: "Log in" }).click();
    const count = () => page.locator(".leaflet-container").getAttribute("data-marker-count");
    for (let i = 0; Number(await count()) < n * 0.99; i++) {
      if (i > 600) throw new Error(`the map shows ${await count()} markers after 60 s, expected ${n}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`map shows ${await count()} markers; counting frames for ${seconds} s`);
    const fixesBefore = Number((await redis.hget("lt:metrics", "worker_fixes_inserted")) ?? 0);
    const r = (await page.evaluate(`new Promise((resolve) => {
      const draws0 = window.logitrack.draws();
      const updates0 = window.logitrack.updates();
      const frames = [];
      const t0 = performance.now();
      const tick = (t) => {
        frames.push(t);
        if (t - t0 < ${seconds * 1000}) requestAnimationFrame(tick);
        else {
          const gaps = frames.slice(1).map((x, i) => x - frames[i]).sort((a, b) => a - b);
          resolve({
            frames: frames.length,
            ms: t - t0,
            draws: window.logitrack.draws() - draws0,
            updates: window.logitrack.updates() - updates0,
            p99GapMs: gaps[Math.floor(gaps.length * 0.99)],
            maxGapMs: gaps[gaps.length - 1],
            markers: Number(document.querySelector(".leaflet-container").dataset.markerCount),
            mode: window.logitrack.mode(),
          });
        }
      };
      requestAnimationFrame(tick);
    })`)) as {
      frames: number;
      ms: number;
      draws: number;
      updates: number;
      p99GapMs: number;
      maxGapMs: number;
      markers: number;
      mode: string;
    };
    const fixesAfter = Number((await redis.hget("lt:metrics", "worker_fixes_inserted")) ?? 0);
    const fps = (r.frames - 1) / (r.ms / 1000);
    const result = {
      feed: job.feed,
      vehicles: n,
      seconds: Math.round(r.ms / 100) / 10,
      fps: Math.round(fps * 10) / 10,
      p99FrameGapMs: Math.round(r.p99GapMs * 10) / 10,
      maxFrameGapMs: Math.round(r.maxGapMs * 10) / 10,
      positionUpdatesPerSecond: Math.round(r.updates / (r.ms / 1000)),
      canvasRedrawsPerSecond: Math.round((r.draws / (r.ms / 1000)) * 10) / 10,
      markersDrawn: r.markers,
      // past MAX_MARKERS in view the map draws counted bubbles (ui/src/fleet-canvas-layer.ts)
      renderMode: r.mode,
      // live sockets the API dropped as too slow (WS_MAX_BUFFER_BYTES) during the whole run
      socketsDropped: app.hub.stats.dropped,
      fixesStoredPerSecond: Math.round((fixesAfter - fixesBefore) / (r.ms / 1000)),
      loadAverage: loadavg()[0]?.toFixed(1),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${browser.context.browser()?.version() ?? "chromium"}`,
    };
    await page.screenshot({ path: join(dir, "ui-fps.png") });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    publisher.kill("SIGTERM");
    await browser.close();
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function waitForLine(child: ChildProcess, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      if (re.test(buf)) resolve();
    });
    child.on("exit", (code) => reject(new Error(`publisher exited (${code})`)));
  });
}

/**
 * Every vehicle sends a fix each second, spread evenly over the second: over MQTT, one
 * connection per device; or (feed redis) written into the live state and channel directly.
 */
async function runPublisher(job: PublisherJob): Promise<void> {
  const clients: MqttClient[] = [];
  const redis = job.feed === "redis" ? createRedis(job.redisUrl) : undefined;
  for (let i = 0; job.feed === "mqtt" && i < job.ids.length; i += 200) {
    const batch = job.ids.slice(i, i + 200);
    clients.push(
      ...(await Promise.all(
        batch.map((id) =>
          mqtt.connectAsync(job.url, {
            // the client id is bound to the account (docs/security.md, finding 6)
            clientId: `${id}:uibench`,
            username: id,
            password: job.password,
            reconnectPeriod: 0,
            keepalive: 60,
          }),
        ),
      )),
    );
  }
  // each vehicle drives around its own circle (radius ~1 km), a step per second
  const state = job.ids.map((_, i) => ({
    lat: AREA.lat + (((i * 7919) % 1000) / 1000 - 0.5) * AREA.dLat * 2,
    lng: AREA.lng + (((i * 104729) % 997) / 997 - 0.5) * AREA.dLng * 2,
    phase: (i % 360) * (Math.PI / 180),
  }));
  process.stdout.write(`${JSON.stringify({ connected: clients.length })}\n`);
  const tickMs = 20;
  const n = job.ids.length;
  const perTick = Math.ceil(n / (1000 / tickMs));
  let next = 0;
  let t = 0;
  setInterval(() => {
    const live: string[] = [];
    const pipeline = redis?.pipeline();
    for (let k = 0; k < perTick; k++) {
      const i = next;
      next = (next + 1) % n;
      if (next === 0) t++;
      const s = state[i] as (typeof state)[number];
      const a = s.phase + t * 0.05;
      const fix = {
        lat: s.lat + 0.009 * Math.sin(a),
        lng: s.lng + 0.009 * Math.cos(a),
        recordedAt: Date.now(),
        speed: 35 + (i % 40),
        heading: ((((-a * 180) / Math.PI) % 360) + 360) % 360,
        ignition: true,
      };
      const id = job.ids[i] as string;
      if (pipeline) {
        const json = JSON.stringify({ vehicleId: id, ...fix, receivedAt: fix.recordedAt });
        pipeline.hset(liveKeys.live, id, json).geoadd(liveKeys.geo, fix.lng, fix.lat, id);
        live.push(json);
      } else (clients[i] as MqttClient).publish(topics.location(id), JSON.stringify(fix), { qos: 1 });
    }
    // the bridge's format: one JSON array per flush on the live channel
    if (pipeline && redis)
      void pipeline.publish(channelOf(redis, liveKeys.liveChannel), `[${live.join(",")}]`).exec();
  }, tickMs);
  process.on("SIGTERM", () => {
    for (const c of clients) c.end(true);
    redis?.disconnect();
    process.exit(0);
  });
}
