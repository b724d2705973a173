import type { AedesOptions } from "aedes";
import type { Logger } from "../../core/logger.ts";
import { isFleetNamespace, ownIngestKind, topics } from "../../core/topics.ts";
import type { CommandAnswerPublish } from "../command-ack.ts";
import { getIdentity } from "../identity.ts";
import type { IngestPublish } from "../ingest-publish.ts";

export interface AuthorizePublishDeps {
  /** a fix on one of the device's ingest topics: admit, hand to the bridge, PUBACK (ingest-publish.ts) */
  ingest: IngestPublish;
  /** the device's answer on fleet/{id}/commands/ack: recorded, then PUBACK (command-ack.ts) */
  commandAnswer: CommandAnswerPublish;
  allowAnonymous: boolean;
  log: Logger;
}

export class NotAuthorizedError extends Error {
  override name = "NotAuthorizedError";
}

/**
 * Aedes `authorizePublish`: decides who may publish where, and hands the publish to its step.
 * Aedes writes the QoS 1 PUBACK (QoS 2 PUBREC) only after this calls back, and reads the socket's
 * next chunk only after the current one has called back: a step holds the callback until the
 * message is safe. Calling back with an error closes the connection (no PUBACK: the device resends).
 *
 * A device may publish exactly its own device → platform topics: `fleet/{id}/location(s)`,
 * `owntracks/{id}/{device}[/…]`, `{imei}/data` for the IMEI registered on it (fixes, to the
 * bridge, with the ingest kind decided here) and `fleet/{id}/commands/ack` (its answers to
 * commands, recorded before the PUBACK).
 *
 * A device never retains (README "Devices"): nothing reads a retained fix or answer, and Aedes would
 * keep every one in memory (Redis in cluster mode) without a bound, one per topic, and OwnTracks
 * alone offers a device any number of topics. So the flag is cleared before any step runs, a
 * will's too (Aedes passes it through here) and a rejected message's: the message is handled as
 * if sent without it, as OwnTracks (which retains by default) expects. A zero-length retained
 * publish keeps its flag: it stores nothing, it only clears what an older broker kept.
 */
export function createAuthorizePublish(
  deps: AuthorizePublishDeps,
): NonNullable<AedesOptions["authorizePublish"]> {
  return function authorizePublish(client, packet, callback) {
    if (client === null) return callback(null); // the broker's own publishes (errors, events, commands)
    const identity = getIdentity(client);
    const topic = packet.topic;
    if (topic.startsWith("$SYS/")) return callback(new NotAuthorizedError(`publish to ${topic} refused`));

    if (identity?.kind === "device") {
      const { vehicleId } = identity;
      const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
      if (packet.retain && payload.length > 0) packet.retain = false;
      if (topic === topics.commandAck(vehicleId))
        return deps.commandAnswer(vehicleId, packet, payload, callback);
      const kind = ownIngestKind(topic, identity);
      if (kind) return deps.ingest(client, identity, kind, packet, payload, callback);
      deps.log.warn({ vehicleId, topic }, "publish outside the device's topics refused");
      return callback(new NotAuthorizedError(`publish to ${topic} refused`));
    }
    if (identity?.kind === "anonymous" && deps.allowAnonymous && !isFleetNamespace(topic))
      return callback(null);
    callback(new NotAuthorizedError(`publish to ${topic} refused`));
  };
}
