import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { connectPacket, type HolderJob, type HolderReport } from "./connections.ts";

/**
 * One process of idle devices (load/bench/connections.ts starts a few: a process may hold only
 * `ulimit -n` sockets). Connects its devices at a steady pace (the broker's connect limits are part
 * of the product, not something to get past), then holds them like idle trackers do: a PINGREQ each
 * keepalive, no publishes. Prints a JSON line after connecting and one after holding for a
 * keepalive period; closes everything on a line on stdin.
 */
const job: HolderJob = JSON.parse(readFileSync(process.argv[2] as string, "utf8"));
const codes: Record<string, number> = {};
const count = (k: string) => {
  codes[k] = (codes[k] ?? 0) + 1;
};
const accepted = new Set<Socket>();

/** One attempt: resolves with the CONNACK code, "reset" or "timeout"; keeps the socket when accepted. */
function attempt(d: HolderJob["devices"][number], i: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({
      port: job.port,
      host: "127.0.0.1",
      localAddress: `127.0.0.${job.firstAddress + (i % job.addresses)}`,
    });
    let answered = false;
    const done = (k: string) => {
      if (answered) return;
      answered = true;
      count(k);
      resolve(k);
    };
    const timer = setTimeout(() => {
      s.destroy();
      done("timeout");
    }, 30_000);
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      accepted.delete(s);
      done("reset");
    });
    s.once("data", (b: Buffer) => {
      clearTimeout(timer);
      const rc = b[0] === 0x20 ? (b[3] ?? -1) : -1;
      if (rc === 0) accepted.add(s);
      else s.destroy();
      done(String(rc));
    });
    // the client id is bound to the account (docs/security.md, finding 6): `<username>:<suffix>`
    s.on("connect", () =>
      s.write(connectPacket(`${d.username}:idle`, d.username, d.password, job.keepaliveS)),
    );
  });
}

/** Like a tracker: a refusal that says "later" (CONNACK 3, a reset, no answer) is retried after a pause. */
async function open(d: HolderJob["devices"][number], i: number): Promise<void> {
  for (let k = 0; k < 6; k++) {
    const outcome = await attempt(d, i);
    if (outcome !== "3" && outcome !== "reset" && outcome !== "timeout") return;
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000 * (k + 1)));
  }
}

// idle trackers: a PINGREQ twice per keepalive, from the moment they are accepted (the broker
// closes a connection silent for 1.5 × keepalive, and connecting them all takes longer than that)
const ping = Buffer.from([0xc0, 0x00]);
const pinger = setInterval(() => {
  for (const s of accepted) s.write(ping);
}, job.keepaliveS * 500);

const started = performance.now();
const pending: Promise<void>[] = [];
for (let i = 0; i < job.devices.length; i++) {
  // paced on the wall clock: connection i opens at i / perSecond seconds
  const due = started + (i * 1000) / job.perSecond;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(open(job.devices[i] as HolderJob["devices"][number], i));
}
await Promise.all(pending);
const report = (phase: HolderReport["phase"]) =>
  process.stdout.write(`${JSON.stringify({ phase, codes, open: accepted.size } satisfies HolderReport)}\n`);
report("connected");

await new Promise((r) => setTimeout(r, job.holdS * 1000));
report("held");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
clearInterval(pinger);
for (const s of accepted) s.destroy();
process.exit(0);
