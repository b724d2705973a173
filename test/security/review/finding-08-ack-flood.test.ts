import { randomUUID } from "node:crypto";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { clientIdFor } from "../../../core/client-id.ts";
import { labelledField } from "../../../core/metrics-catalogue.ts";
import { redisKeys } from "../../../core/redis.ts";
import { addVehicle } from "../../../core/vehicles.ts";
import { withClientId } from "../../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { sleep, waitFor } from "../../support/wait.ts";
import { connectPacket, openRaw, publishPacket, type RawConnection } from "../support/raw-mqtt.ts";

// Security review, finding 8 (docs/security.md): answers on fleet/{id}/commands/ack skipped the rate
// limit and each ran queries on the broker's 4-connection pool, the one credential lookups used:
// one device's answer flood made every other device's CONNECT wait behind it, and time out.
describe("finding 8: a command answer flood neither escapes a limit nor starves other devices' CONNECTs", () => {
  let p: TestPlatform | undefined;
  const raws: RawConnection[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.socket.destroy();
    await p?.close();
    p = undefined;
  });

  it("finding 8: while one device floods answers, another device's CONNECT gets CONNACK 0; answers past the limit are refused and counted", async () => {
    // the broker's pool as in broker/main.ts (4); answer limit at its defaults (10/s, burst 100)
    p = await startPlatform({ poolSize: 4 });
    const platform = p;
    const flooder = await addVehicle(p.pool, { id: "f8-flooder" });
    const other = await addVehicle(p.pool, { id: "f8-other" });

    // 40 connections of the flooder, each writing answers (unknown commandIds: two queries each)
    const answer = (n: number) =>
      Buffer.concat(
        Array.from({ length: n }, (_, i) =>
          publishPacket(
            `fleet/${flooder.id}/commands/ack`,
            JSON.stringify({ commandId: randomUUID(), status: "ok" }),
            1,
            (i % 65_000) + 1,
          ),
        ),
      );
    for (let c = 0; c < 40; c++) {
      const raw = await openRaw(p.broker.ports.mqtt);
      raws.push(raw);
      raw.socket.write(
        connectPacket({
          clientId: clientIdFor(flooder.id, `flood-${c}`),
          username: flooder.username,
          password: flooder.password,
        }),
      );
      await waitFor(
        async () => raw.connack(),
        (code) => code !== undefined,
        { timeoutMs: 10_000, what: "the flooder's CONNACK" },
      );
      expect(raw.connack()).toBe(0);
    }
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        for (const raw of raws)
          if (!raw.isClosed() && raw.socket.writableLength < 1_000_000) raw.socket.write(answer(2000));
        await sleep(50);
      }
    })();
    await sleep(1000);

    // a normal CONNECT takes milliseconds; 5 s is a guard far above it
    const connected = await mqtt
      .connectAsync(
        platform.mqttUrl,
        withClientId({
          username: other.username,
          password: other.password,
          reconnectPeriod: 0,
          connectTimeout: 5000,
        }),
      )
      .then(
        async (c) => {
          await c.endAsync(true);
          return "CONNACK 0";
        },
        (err: Error) => `refused: ${err.message}`,
      );
    flooding = false;
    await flood;
    expect(connected).toBe("CONNACK 0");
    // the flooder's answers beyond its limit were refused (no PUBACK, connection closed), and counted
    expect(p.broker.limits.refusals.ack_rate).toBeGreaterThan(0);
    expect(raws.some((r) => r.isClosed())).toBe(true);
    const counted = await p.redis.hget(redisKeys.metrics, labelledField("broker_refused", "ack_rate"));
    expect(Number(counted)).toBeGreaterThan(0);
  });
});
