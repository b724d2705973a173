import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { PublisherJob, PublisherResult } from "../../../load/bench/publisher.ts";

const PUBLISHER = fileURLToPath(new URL("../../../load/bench/publisher.ts", import.meta.url));

/** An MQTT server that knows CONNECT, PUBLISH and PINGREQ, each connection handled by `onPublish`. */
function fakeBroker(
  onConnection: (n: number) => { onPublish(s: Socket, id: number, payload: string): void },
) {
  let connections = 0;
  const server = createServer((socket) => {
    const conn = onConnection(++connections);
    let buf = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        // fixed header: type and flags, then the remaining length as a varint
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length; i++) {
          len += ((buf[i] as number) & 0x7f) * mul;
          mul *= 128;
          if (((buf[i] as number) & 0x80) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const type = (buf[0] as number) >> 4;
        const body = buf.subarray(i + 1, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        else if (type === 12) socket.write(Buffer.from([0xd0, 0x00]));
        else if (type === 3) {
          const topicLen = body.readUInt16BE(0);
          const id = body.readUInt16BE(2 + topicLen);
          conn.onPublish(socket, id, body.subarray(4 + topicLen).toString());
        }
      }
    });
  });
  return { server, connections: () => connections };
}

const puback = (s: Socket, id: number) => s.write(Buffer.from([0x40, 0x02, id >> 8, id & 0xff]));

/** Runs load/bench/publisher.ts with `job` against the server; resolves with its result line. */
async function publish(job: PublisherJob): Promise<PublisherResult> {
  const dir = mkdtempSync(join(tmpdir(), "lt-publisher-"));
  try {
    const file = join(dir, "job.json");
    writeFileSync(file, JSON.stringify(job));
    const child = spawn(process.execPath, ["--import", "tsx", PUBLISHER, file], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines: string[] = [];
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const l of parts) {
        lines.push(l);
        if (l.includes('"ready"')) child.stdin.write("go\n");
      }
    });
    await new Promise((r) => child.on("close", r));
    return JSON.parse(lines.at(-1) as string) as PublisherResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** one QoS 1 device publishing single fixes to the server on `port` */
const oneDevice = (
  port: number,
  o: Pick<PublisherJob, "rate" | "seconds" | "graceMs" | "sampleAfterMs" | "park">,
): PublisherJob => ({
  url: `mqtt://127.0.0.1:${port}`,
  devices: [{ id: "d1", username: "", password: "" }],
  fixesPerMessage: 1,
  qos: 1,
  ...o,
});

// The bench's MQTT device (load/bench/publisher.ts): what it sends decides what PUBACK p99 measures
describe("bench MQTT device", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it("keeps at most 10 publishes unanswered, and resends them once reconnected when the broker closes the connection", async () => {
    const first: string[] = [];
    const second: string[] = [];
    const broker = fakeBroker((n) => ({
      onPublish(s, id, payload) {
        if (n === 1) {
          // never answered; 500 ms after the tenth (an eleventh would come at once), the connection is closed
          if (first.push(payload) === 10) setTimeout(() => s.destroy(), 500);
        } else {
          second.push(payload);
          puback(s, id);
        }
      },
    }));
    server = broker.server;
    await new Promise<void>((r) => broker.server.listen(0, "127.0.0.1", r));
    const { port } = broker.server.address() as { port: number };

    // 40 fixes/s for 2 s from one device: about 80 messages
    const result = await publish(oneDevice(port, { rate: 40, seconds: 2 }));

    // the first connection got the window, no more, though some 20 more were due by the time it closed
    expect(first).toHaveLength(10);
    expect(broker.connections()).toBe(2);
    // well past the window, whatever a loaded machine's event loop did to the schedule
    expect(result.sent).toBeGreaterThanOrEqual(40);
    expect(result).toMatchObject({
      acked: result.sent,
      errors: 0,
      unanswered: 0,
      refused: 10,
      reconnects: 1,
    });
    expect(result.transmissions).toBe(result.sent + 10);
    // every message reached the second connection once, the first ten sent again as they were
    expect(second).toHaveLength(result.sent);
    expect(new Set(second).size).toBe(result.sent);
    for (const p of first) expect(second).toContain(p);
  }, 30_000);

  it("counts what is still unanswered when it stops waiting, apart from acknowledged and refused", async () => {
    let answered = 0;
    const broker = fakeBroker(() => ({
      onPublish(s, id) {
        // the first three answered, the rest never
        if (++answered <= 3) puback(s, id);
      },
    }));
    server = broker.server;
    await new Promise<void>((r) => broker.server.listen(0, "127.0.0.1", r));
    const { port } = broker.server.address() as { port: number };
    const result = await publish(oneDevice(port, { rate: 20, seconds: 1, graceMs: 300 }));
    // 3 answered; 10 more written and left waiting (the window), the rest held in the device: all of
    // them unanswered, none counted as an error or a refusal
    expect(result.sent).toBeGreaterThanOrEqual(15);
    expect(result).toMatchObject({ acked: 3, errors: 0, refused: 0, transmissions: 13 });
    expect(result.unanswered).toBe(result.sent - 3);
  }, 30_000);

  it("leaves a pre-roll's PUBACK times out of its samples (sampleAfterMs), not out of its counts", async () => {
    const broker = fakeBroker(() => {
      let first: number | undefined;
      return {
        onPublish(s, id) {
          first ??= Date.now();
          // the connection's first second answered a second late, then at once
          if (Date.now() - first < 1000) setTimeout(() => puback(s, id), 1000);
          else puback(s, id);
        },
      };
    });
    server = broker.server;
    await new Promise<void>((r) => broker.server.listen(0, "127.0.0.1", r));
    const { port } = broker.server.address() as { port: number };

    // 8 fixes/s for 3 s: the slow ones stay within the device's window of 10
    const whole = await publish(oneDevice(port, { rate: 8, seconds: 3 }));
    const after = await publish(oneDevice(port, { rate: 8, seconds: 3, sampleAfterMs: 2000 }));

    expect(whole.acked).toBe(whole.sent);
    expect(Math.max(...whole.ackMs)).toBeGreaterThanOrEqual(1000);
    // every message counted, only those due from the third second on timed
    expect(after.acked).toBe(after.sent);
    // by due time, not by a clock: the 16 messages due in the first 2 s (8 a second) are not timed
    expect(after.ackMs).toHaveLength(after.sent - 16);
  }, 30_000);

  it("parks each device after the run (park): one more fix at 0 km/h, its last, in no count but parked", async () => {
    const payloads: string[] = [];
    const broker = fakeBroker(() => ({
      onPublish(s, id, payload) {
        payloads.push(payload);
        puback(s, id);
      },
    }));
    server = broker.server;
    await new Promise<void>((r) => broker.server.listen(0, "127.0.0.1", r));
    const { port } = broker.server.address() as { port: number };

    const result = await publish(oneDevice(port, { rate: 20, seconds: 1, park: true }));

    const fixes = payloads.map((p) => JSON.parse(p) as { speed: number; recordedAt: number });
    expect(fixes).toHaveLength(result.sent + 1);
    expect(result.parked).toBe(1);
    expect(result.acked).toBe(result.sent);
    expect(result.ackMs).toHaveLength(result.sent);
    expect(result.transmissions).toBe(result.sent);
    const last = fixes.at(-1) as (typeof fixes)[number];
    expect(last.speed).toBe(0);
    // after every fix of the run, so it is the vehicle's newest; the run's own speeds are not all 0
    expect(last.recordedAt).toBeGreaterThan(Math.max(...fixes.slice(0, -1).map((f) => f.recordedAt)));
    expect(fixes.slice(0, -1).some((f) => f.speed > 0)).toBe(true);
  }, 30_000);
});
