import type { Aedes, Client, ConnackPacket, PublishPacket, PubrelPacket, Subscription } from "aedes";
import type pg from "pg";
import { type CommandMessage, markDelivered, pendingCommands } from "../core/commands.ts";
import type { Logger } from "../core/logger.ts";
import type { Redis } from "../core/redis.ts";
import { topics } from "../core/topics.ts";
import { getIdentity } from "./identity.ts";

/** Claim key of a command: the one node that publishes it. */
const CLAIM_PREFIX = "lt:command:claim:";
const CLAIM_TTL_MS = 86_400_000;
const COMMANDS_TOPIC_RE = /^fleet\/([A-Za-z0-9_-]{1,64})\/commands$/;
/** A pending command older than this is not sent again to a device that subscribes afresh. */
const RESEND_MAX_AGE_MS = 86_400_000;

export interface CommandDownlinkDeps {
  aedes: Aedes;
  pool: pg.Pool;
  redis: Redis;
  log: Logger;
}

/**
 * Downlink commands on the broker side. The API stores a command and tells every broker node
 * over the control channel (core/control.ts); the API is not the broker and does not know
 * which node holds the device's session.
 *   - deliver: one node claims the command (SET NX) and publishes it at QoS 1 on
 *     fleet/{id}/commands. Nodes of a cluster share one emitter (mqemitter-redis), so one publish
 *     reaches the device wherever it is connected, and a persistent session (clean session 0)
 *     that is offline gets it queued until it reconnects [MQTT-3.1.2-5].
 *   - onAck (Aedes "ack" event): the owning device's PUBACK of that publish marks the command
 *     delivered. Other subscribers' PUBACKs (an integration on fleet/#) do not count.
 *   - onSubscribe: a publish reaches only the sessions subscribed at that moment. A device that
 *     subscribes to its commands with no stored session (first connection, clean session 1, or
 *     a broker restart that lost in-memory sessions) is sent its still-pending commands (up to a
 *     day old) directly, so a command is not lost because the device was never subscribed. A
 *     session that was present already holds what was published for it, so it is not sent
 *     again; a command published while the device subscribes may arrive twice (QoS 1 is
 *     at-least-once: devices deduplicate by commandId).
 */
export function createCommandDownlink(deps: CommandDownlinkDeps) {
  const { aedes, pool, redis, log } = deps;

  async function deliver(cmd: { vehicleId: string; commandId: string; payload: unknown }): Promise<void> {
    const claimed = await redis.set(`${CLAIM_PREFIX}${cmd.commandId}`, aedes.id, "PX", CLAIM_TTL_MS, "NX");
    if (claimed !== "OK") return;
    const message: CommandMessage = { commandId: cmd.commandId, payload: cmd.payload };
    aedes.publish(
      {
        cmd: "publish",
        topic: topics.commands(cmd.vehicleId),
        payload: Buffer.from(JSON.stringify(message)),
        qos: 1,
        retain: false,
        dup: false,
      },
      (err) => {
        if (err)
          log.error({ err, vehicleId: cmd.vehicleId, commandId: cmd.commandId }, "command not published");
        else log.info({ vehicleId: cmd.vehicleId, commandId: cmd.commandId }, "command published");
      },
    );
  }

  function onAck(packet: PublishPacket | PubrelPacket | undefined, client: Client): void {
    if (packet?.cmd !== "publish") return;
    const m = COMMANDS_TOPIC_RE.exec(packet.topic);
    if (!m) return;
    const identity = getIdentity(client);
    if (identity?.kind !== "device" || identity.vehicleId !== m[1]) return;
    const commandId = commandIdOf(packet.payload);
    if (!commandId) return;
    markDelivered(pool, identity.vehicleId, commandId).then(
      (moved) => {
        if (moved) log.debug({ vehicleId: identity.vehicleId, commandId }, "command delivered");
      },
      (err: unknown) => log.warn({ err, vehicleId: identity.vehicleId, commandId }, "delivery not recorded"),
    );
  }

  /** connections whose CONNACK said "no session present" and that have not subscribed yet */
  const fresh = new WeakSet<Client>();

  function onConnackSent(packet: ConnackPacket, client: Client): void {
    if (packet.returnCode === 0 && !packet.sessionPresent) fresh.add(client);
  }

  function onSubscribe(subscriptions: Subscription[], client: Client): void {
    const identity = getIdentity(client);
    if (identity?.kind !== "device" || !fresh.has(client)) return;
    const topic = topics.commands(identity.vehicleId);
    if (!subscriptions.some((s) => s.topic === topic)) return;
    fresh.delete(client);
    pendingCommands(pool, identity.vehicleId, RESEND_MAX_AGE_MS).then(
      (commands) => {
        for (const c of commands) {
          const message: CommandMessage = { commandId: c.id, payload: c.payload };
          // to this client only: other subscribers (dashboards) saw it when it was first published
          client.publish(
            {
              cmd: "publish",
              topic,
              payload: Buffer.from(JSON.stringify(message)),
              qos: 1,
              retain: false,
              dup: false,
            },
            (err) => {
              if (err)
                log.warn({ err, vehicleId: identity.vehicleId, commandId: c.id }, "pending command not sent");
            },
          );
        }
        if (commands.length > 0)
          log.info({ vehicleId: identity.vehicleId, commands: commands.length }, "pending commands sent");
      },
      (err: unknown) => log.warn({ err, vehicleId: identity.vehicleId }, "pending commands not read"),
    );
  }

  return { deliver, onAck, onConnackSent, onSubscribe };
}

function commandIdOf(payload: Buffer | string | undefined): string | undefined {
  if (payload === undefined) return undefined;
  try {
    const msg = JSON.parse(payload.toString()) as Partial<CommandMessage>;
    return typeof msg.commandId === "string" ? msg.commandId : undefined;
  } catch {
    return undefined;
  }
}
