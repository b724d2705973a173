import { afterEach, describe, expect, it } from "vitest";
import { labelledField } from "../../../core/metrics-catalogue.ts";
import { redisKeys } from "../../../core/redis.ts";
import type { DeviceCredentials } from "../../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { sleep, waitFor } from "../../support/wait.ts";
import { connectPacket, openRaw, type RawConnection } from "../support/raw-mqtt.ts";

// Security review finding 11 (docs/security.md): the connect limit was one bucket for everyone, so
// a CONNECT flood from one address emptied it and every real device got CONNACK 3. Each source
// address now has a bucket of its own, taken first; the global one is the last resort.
const GLOBAL = 20;
const PER_ADDRESS = 5;
/** the attacker's CONNECTs every 10 ms: over ten times the global limit, whatever the machine's pace */
const FLOOD_PER_10MS = 4;
const DEVICE_TRIES = 5;

/** Opens a connection, sends CONNECT and resolves with the CONNACK's return code (closing it). */
async function connackOf(
  port: number,
  localAddress: string,
  creds: { username: string; password: string },
): Promise<number> {
  const raw: RawConnection = await openRaw(port, localAddress);
  try {
    raw.socket.write(connectPacket({ clientId: "", ...creds }));
    const code = await waitFor(
      async () => raw.connack() ?? (raw.isClosed() ? -1 : undefined),
      (c) => c !== undefined,
      { intervalMs: 5, what: "CONNACK" },
    );
    return code ?? -1;
  } finally {
    raw.socket.destroy();
  }
}

describe("finding 11: a CONNECT flood from one address does not lock the other devices out", () => {
  let p: TestPlatform | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it("finding 11: while 127.0.0.2 floods CONNECTs at over 10x MQTT_CONNECT_RATE, a device on 127.0.0.1 gets CONNACK 0 every time; the flood's refusals are counted", async () => {
    p = await startPlatform({
      env: { MQTT_CONNECT_RATE: String(GLOBAL), MQTT_CONNECT_RATE_PER_ADDRESS: String(PER_ADDRESS) },
    });
    const platform = p;
    const port = p.broker.ports.mqtt;
    const [device] = (await p.register("real", 1)) as [DeviceCredentials];
    const stranger = { username: "no-such-vehicle", password: "guess" };

    const flood: Promise<number>[] = [];
    let flooding = true;
    const attacker = (async () => {
      while (flooding) {
        for (let k = 0; k < FLOOD_PER_10MS; k++) flood.push(connackOf(port, "127.0.0.2", stranger));
        await sleep(10);
      }
    })();

    const deviceCodes: number[] = [];
    try {
      await sleep(500);
      for (let i = 0; i < DEVICE_TRIES; i++) {
        deviceCodes.push(await connackOf(port, "127.0.0.1", device));
        await sleep(100);
      }
    } finally {
      flooding = false;
      await attacker;
    }
    const floodCodes = await Promise.all(flood);
    const refusedFlood = floodCodes.filter((c) => c === 3).length;
    console.log(
      `flood: ${floodCodes.length} CONNECTs, ${refusedFlood} CONNACK 3, ${floodCodes.filter((c) => c === 5 || c === 4).length} bad credentials; device: ${deviceCodes.join(",")}`,
    );

    expect(deviceCodes).toEqual(Array(DEVICE_TRIES).fill(0));
    // the flood met its own address's limit, never the global one
    expect(refusedFlood).toBeGreaterThan(floodCodes.length / 2);
    expect(platform.broker.limits.refused.address).toBe(refusedFlood);
    expect(platform.broker.limits.refused.rate).toBe(0);
    // counted for /metrics: logitrack_broker_connects_refused_total{reason="address_rate"}
    await waitFor(
      async () =>
        Number(
          await platform.redis.hget(
            redisKeys.metrics,
            labelledField("broker_connects_refused", "address_rate"),
          ),
        ),
      (n) => n === refusedFlood,
      { what: "the refusals in the metrics hash" },
    );
  });
});
