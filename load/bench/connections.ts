import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Redis, redisKeys } from "../../core/redis.ts";
import type { ConnectionsRun } from "./results.ts";
import type { Device, Sut } from "./suts.ts";

const HOLDER = fileURLToPath(new URL("./idle-holder.ts", import.meta.url));

/** What one idle-holder process (load/bench/idle-holder.ts) is given, and what it reports. */
export interface HolderJob {
  port: number;
  devices: { id: string; username: string; password: string }[];
  /** source addresses 127.0.0.<first>… (ephemeral ports are per source address) */
  firstAddress: number;
  addresses: number;
  perSecond: number;
  keepaliveS: number;
  holdS: number;
}

export interface HolderReport {
  phase: "connected" | "held";
  /** outcomes of every attempt: CONNACK return codes, "reset" (closed before a CONNACK: a connection
   * cap), "timeout" (no answer); a device retries 3, reset and timeout up to five times */
  codes: Record<string, number>;
  /** connections open with CONNACK 0 now */
  open: number;
}

/** An MQTT 3.1.1 CONNECT packet (clean session, username + password). */
export function connectPacket(clientId: string, username: string, password: string, keepaliveS = 60): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, keepaliveS >> 8, keepaliveS & 0xff]);
  const payload = Buffer.concat([str(clientId), str(username), str(password)]);
  let remaining = variable.length + payload.length;
  const lenBytes: number[] = [];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    lenBytes.push(byte);
  } while (remaining > 0);
  return Buffer.concat([Buffer.from([0x10, ...lenBytes]), variable, payload]);
}

/**
 * Idle authenticated devices (raw sockets: an mqtt.js client object per connection would measure
 * the load generator, not the broker), held by child processes (load/bench/idle-holder.ts) since a
 * process may hold only `ulimit -n` sockets, spread over 127.0.0.x source addresses (ephemeral
 * ports are per address). They connect at the pace the broker's connect limits allow, with every
 * CONNACK code counted, and are held across a keepalive period with PINGREQs as idle trackers do;
 * the broker's memory is read once connected and again after the keepalive period.
 */
export async function idleConnections(
  sut: Sut & { redis?: Redis },
  devices: Device[],
  port: number,
  o: { perSecond: number; keepaliveS: number; holders: number; log: (m: string) => void },
): Promise<ConnectionsRun> {
  const refusedBefore = sut.redis ? await refusalCounters(sut.redis) : {};
  const rssBefore = sut.rss();
  const dir = mkdtempSync(join(tmpdir(), "lt-idle-"));
  const started = performance.now();
  const holders = Array.from({ length: o.holders }, (_, h) => {
    const job: HolderJob = {
      port,
      devices: devices.filter((_, i) => i % o.holders === h),
      firstAddress: 2 + h * 25,
      addresses: 25,
      perSecond: o.perSecond / o.holders,
      keepaliveS: o.keepaliveS,
      holdS: Math.ceil(o.keepaliveS * 1.6),
    };
    const file = join(dir, `holder-${h}.json`);
    writeFileSync(file, JSON.stringify(job));
    const child = spawn(process.execPath, ["--import", "tsx", HOLDER, file], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const reports: HolderReport[] = [];
    const waiters: (() => void)[] = [];
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) if (l) reports.push(JSON.parse(l));
      for (const w of waiters.splice(0)) w();
    });
    const exited = new Promise<void>((r) => child.on("close", () => r()));
    const nth = async (n: number) => {
      while (reports.length < n) {
        if (child.exitCode !== null) throw new Error(`idle holder ${h} exited (${child.exitCode})`);
        await new Promise<void>((r) => waiters.push(r));
      }
      return reports[n - 1] as HolderReport;
    };
    return { child, nth, exited };
  });
  try {
    const connected = await Promise.all(holders.map((h) => h.nth(1)));
    const connectS = (performance.now() - started) / 1000;
    const rssConnected = sut.rss();
    const codes = sumCodes(connected);
    o.log(`  connected in ${connectS.toFixed(0)} s: CONNACK/outcome ${JSON.stringify(codes)}`);
    const held = await Promise.all(holders.map((h) => h.nth(2)));
    const rssHeld = sut.rss();
    const open = held.reduce((a, r) => a + r.open, 0);
    const refusedAfter = sut.redis ? await refusalCounters(sut.redis) : {};
    const refusals = Object.fromEntries(
      Object.entries(refusedAfter)
        .map(([k, v]) => [k, v - (refusedBefore[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
    return {
      target: devices.length,
      held: connected.reduce((a, r) => a + r.open, 0),
      heldAfterKeepalive: open,
      keepaliveS: o.keepaliveS,
      perSecond: o.perSecond,
      connectS,
      codes,
      brokerRefusals: refusals,
      rssBeforeMB: rssBefore / 2 ** 20,
      rssAfterMB: rssHeld / 2 ** 20,
      bytesPerConnection: open > 0 ? (rssHeld - rssBefore) / open : 0,
      bytesPerConnectionAtConnect: (rssConnected - rssBefore) / Math.max(1, codes["0"] ?? 0),
    };
  } finally {
    for (const h of holders) h.child.stdin.write("stop\n");
    await Promise.race([
      Promise.all(holders.map((h) => h.exited)),
      new Promise((r) => setTimeout(r, 10_000)),
    ]);
    for (const h of holders) if (h.child.exitCode === null) h.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function sumCodes(reports: HolderReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.codes)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The broker's connection refusal counters (connect limits, connection caps) from the metrics hash. */
async function refusalCounters(redis: Redis): Promise<Record<string, number>> {
  const all = await redis.hgetall(redisKeys.metrics);
  return Object.fromEntries(
    Object.entries(all)
      .filter(([k]) => k.startsWith("broker_connects_refused") || k.startsWith("broker_refused"))
      .map(([k, v]) => [k, Number(v)]),
  );
}
