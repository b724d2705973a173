import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort } from "../../core/free-port.ts";
import { spawnTracked } from "./processes.ts";
import { waitFor } from "./wait.ts";

export interface MosquittoInstance {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A Mosquitto (Debian 2.0, MQTT 5 shared subscriptions) of the test's own on a free loopback
 * port, with persistence in a temporary folder; stopped through the PID started here only.
 */
export async function startMosquitto(): Promise<MosquittoInstance> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lt-mosquitto-"));
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      // run as root in CI containers: stay root so the temporary folder stays writable
      "user root",
      "persistence true",
      `persistence_location ${dir}/`,
      // the bridges' sessions must queue whatever the publishers send while a replica is down
      // (default 1000 per client, beyond which QoS 1 messages are dropped)
      "max_queued_messages 0",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "",
    ].join("\n"),
  );
  const mosquitto = spawnTracked("mosquitto", ["-c", conf]);
  const url = `mqtt://127.0.0.1:${port}`;
  await waitFor(
    () =>
      mqtt
        .connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 })
        .then((c) => c.endAsync().then(() => true))
        .catch(() => false),
    (up) => up,
    { timeoutMs: 20_000, what: "mosquitto to accept connections" },
  );
  return {
    url,
    pid: mosquitto.child.pid as number,
    async stop() {
      await mosquitto.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
