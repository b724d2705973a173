import type { PublishPacket } from "aedes";
import type pg from "pg";
import { z } from "zod";
import { recordAnswer, UUID_RE } from "../core/commands.ts";
import type { Logger } from "../core/logger.ts";
import { cutPayload, type Reject, type RejectReason } from "../core/reject-reasons.ts";
import { topics } from "../core/topics.ts";
import { RateLimitedError } from "./limits/rate-limit.ts";
import type { Acknowledge, PublishCallback } from "./reject-notices.ts";

/** A device's answer on fleet/{id}/commands/ack. */
export const commandAnswerSchema = z.object({
  commandId: z.string().regex(UUID_RE, "must be the commandId the device received"),
  status: z.enum(["ok", "error"]),
  response: z.unknown().optional(),
});

export interface CommandAckDeps {
  /** the broker's pool; credential lookups have one of their own, which answers cannot starve */
  pool: pg.Pool;
  /** the device's answer rate limit (limits/admission.ts): waits, or rejects with RateLimitedError */
  admit: (vehicleId: string) => Promise<void>;
  maxPayloadBytes: number;
  acknowledge: Acknowledge;
  nextMessageId: () => string;
  log: Logger;
}

export type CommandAnswerPublish = (
  vehicleId: string,
  packet: PublishPacket,
  payload: Buffer,
  callback: PublishCallback,
) => void;

/**
 * Records a device's answer to a command. Kept out of the fix path (no batch, no queue): the
 * answer is one row update, done before the PUBACK so that an acknowledged answer is recorded.
 * An unusable answer (bad JSON, wrong shape, unknown commandId) is acknowledged too, and the
 * device is told why on fleet/{id}/errors; it is not a fix, so it is not in rejected_messages.
 * A database failure, or an answer past the device's answer rate limit, calls back with the
 * error: no PUBACK (the connection is closed), and the device sends its answer again.
 */
export function createCommandAck(deps: CommandAckDeps): CommandAnswerPublish {
  return function commandAnswerPublish(vehicleId, packet, payload, callback) {
    deps
      .admit(vehicleId)
      .then(() => record(vehicleId, payload, deps.nextMessageId()))
      .then(
        (reject) => deps.acknowledge(packet, reject ? [reject] : [], callback),
        (err: Error) => {
          if (!(err instanceof RateLimitedError))
            deps.log.error({ err, vehicleId }, "command answer not recorded");
          callback(err);
        },
      );
  };

  /** Resolves with the reject that makes the answer unusable, or undefined once it is recorded. */
  async function record(vehicleId: string, payload: Buffer, messageId: string): Promise<Reject | undefined> {
    const rejectOf = (reason: RejectReason, detail: string): Reject => ({
      vehicleId,
      topic: topics.commandAck(vehicleId),
      reason,
      detail,
      payload: cutPayload(payload),
      receivedAt: Date.now(),
      messageId,
    });
    if (payload.length > deps.maxPayloadBytes) {
      return rejectOf("E_TOO_LARGE", `${payload.length} bytes > MAX_PAYLOAD_BYTES ${deps.maxPayloadBytes}`);
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(payload.toString("utf8"));
    } catch (err) {
      return rejectOf("E_BAD_JSON", (err as Error).message);
    }
    const parsed = commandAnswerSchema.safeParse(decoded);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") ?? "";
      const missing = field !== "" && (decoded as Record<string, unknown>)[field] === undefined;
      return rejectOf(
        missing ? "E_MISSING_FIELD" : field === "" ? "E_BAD_PAYLOAD" : "E_BAD_TYPE",
        field ? `${field}: ${issue?.message}` : "expected {commandId, status, response?}",
      );
    }
    const { commandId, status, response } = parsed.data;
    const result = await recordAnswer(deps.pool, vehicleId, commandId, status === "ok", response);
    if (result === "unknown")
      return rejectOf("E_BAD_PAYLOAD", `commandId ${commandId}: no such command for ${vehicleId}`);
    deps.log.debug({ vehicleId, commandId, status, result }, "command answer");
    return undefined;
  }
}
