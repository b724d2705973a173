import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { type RunResult, runToEnd } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

/**
 * Clients nobody on this team wrote: Debian's mosquitto_pub / mosquitto_sub (mosquitto-clients),
 * run as child processes against the broker on 127.0.0.1. Only the PIDs started here are killed.
 */
export interface Broker {
  host: string;
  port: number;
}

export interface Credentials {
  username: string;
  password: string;
}

export const connectArgs = (b: Broker, creds?: Credentials): string[] => [
  "-h",
  b.host,
  "-p",
  String(b.port),
  ...(creds ? ["-u", creds.username, "-P", creds.password] : []),
];

/** Runs mosquitto_pub to completion (it waits for the PUBACK at QoS 1). */
export function mosquittoPub(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return runToEnd("mosquitto_pub", args, { timeoutMs });
}

export interface Subscriber {
  child: ChildProcess;
  /** messages so far, as printed with `-F "MSG %r %q %t %p"`: retain flag, QoS, topic, payload */
  messages: { retained: boolean; qos: number; topic: string; payload: string }[];
  /** resolves once the SUBACK arrived (mosquitto_sub -d prints it) */
  subscribed: Promise<void>;
  exited: Promise<number | null>;
  /** waits for a sub that ends by itself (`-C n`) to exit; kills it and rejects after `timeoutMs` */
  finished(timeoutMs?: number): Promise<number | null>;
  /**
   * Listens for `ms` after the SUBACK, then kills: what `-W` would do, without `-W`'s SIGALRM,
   * which runs the same deadlock-prone handler as SIGTERM (see kill).
   */
  listenFor(ms: number): Promise<void>;
  waitForMessages(n: number, timeoutMs?: number): Promise<Subscriber["messages"]>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

const KILL_GRACE_MS = 3_000;

/** Starts mosquitto_sub with `args` (topics, -q, -c, -i …); debug on, one line per message. */
export function mosquittoSub(args: string[]): Subscriber {
  // stdout to a pipe is block-buffered by stdio: stdbuf makes mosquitto_sub print line by line
  const child = spawn("stdbuf", ["-oL", "mosquitto_sub", "-d", "-F", "MSG %r %q %t %p", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const messages: Subscriber["messages"] = [];
  let out = "";
  let buf = "";
  let onSuback: () => void = () => {};
  const subscribed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no SUBACK for mosquitto_sub ${args.join(" ")}: ${out}`)),
      60_000,
    );
    onSuback = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  subscribed.catch(() => {});
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) {
      if (/received SUBACK/.test(line)) onSuback();
      const m = /^MSG (\d) (\d) (\S+) (.*)$/.exec(line);
      if (m)
        messages.push({
          retained: m[1] === "1",
          qos: Number(m[2]),
          topic: m[3] as string,
          payload: m[4] as string,
        });
    }
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.on("error", (err) => {
    out += `[spawn error: ${err.message}]`;
  });
  const exited = new Promise<number | null>((r) =>
    child.on("exit", (code, signal) => {
      out += `[exited: ${code ?? signal}]`;
      r(code);
    }),
  );
  return {
    child,
    messages,
    subscribed,
    exited,
    waitForMessages: (n, timeoutMs = 60_000) =>
      waitFor(
        async () => messages,
        (m) => m.length >= n,
        {
          timeoutMs,
          intervalMs: 50,
          what: `${n} message(s) on mosquitto_sub ${args.join(" ")}; output: ${out}`,
        },
      ),
    async finished(timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`mosquitto_sub ${args.join(" ")} did not exit in ${timeoutMs} ms: ${out}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async listenFor(ms) {
      await subscribed;
      await new Promise((r) => setTimeout(r, ms));
      await this.kill();
    },
    async kill(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      // mosquitto_sub's SIGTERM handler calls into libmosquitto, which can deadlock on a lock
      // its network thread holds (seen here: SIGTERM blocked, main thread in futex_wait): the
      // process then never exits. A sub killed that way just closes its socket, like SIGKILL.
      const escalate = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      await exited;
      clearTimeout(escalate);
    },
    output: () => out,
  };
}

/** A self-signed certificate for 127.0.0.1/localhost, made with openssl in a temporary folder. */
export function selfSignedCert(): { dir: string; cert: string; key: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "lt-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { dir, cert, key, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StoredFix {
  lat: number;
  lng: number;
  recordedAt: number;
  speed: number | null;
  heading: number | null;
  altitude: number | null;
  ignition: boolean | null;
  odometer: number | null;
}

/** The fixes stored in PostGIS for a vehicle, oldest first. */
export async function storedFixes(pool: pg.Pool, vehicleId: string): Promise<StoredFix[]> {
  const r = await pool.query<StoredFix>(
    `SELECT ST_Y(location) AS lat, ST_X(location) AS lng,
            (extract(epoch FROM recorded_at) * 1000)::float8 AS "recordedAt",
            speed, heading, altitude, ignition, odometer
     FROM vehicle_locations WHERE vehicle_id = $1 ORDER BY recorded_at`,
    [vehicleId],
  );
  return r.rows;
}

export function waitForFixes(pool: pg.Pool, vehicleId: string, n: number): Promise<StoredFix[]> {
  return waitFor(
    () => storedFixes(pool, vehicleId),
    (rows) => rows.length >= n,
    { timeoutMs: 60_000, what: `${n} fix(es) of ${vehicleId} in PostGIS` },
  );
}
