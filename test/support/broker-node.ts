import { createConnection } from "node:net";
import { freePort } from "../../core/free-port.ts";
import { type Child, spawnEntry } from "./processes.ts";
import { waitFor } from "./wait.ts";

export interface BrokerNode {
  process: Child;
  url: string;
}

/**
 * One embedded-broker node (a broker/main.ts process, BROKER_CLUSTER=redis) on free loopback
 * ports, with `env` (a platform's: its Redis and PostgreSQL); resolves once it accepts TCP.
 */
export async function startBrokerNode(env: NodeJS.ProcessEnv): Promise<BrokerNode> {
  const port = await freePort();
  const process = spawnEntry("broker/main.ts", {
    ...env,
    BROKER_CLUSTER: "redis",
    MQTT_HOST: "127.0.0.1",
    MQTT_PORT: String(port),
    MQTT_WS_PORT: String(await freePort()),
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = createConnection(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      }),
    (up) => up,
    { what: `broker node on ${port}` },
  );
  return { process, url: `mqtt://127.0.0.1:${port}` };
}
