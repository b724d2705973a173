import { z } from "zod";
import { positiveInt } from "./fields.ts";
import { configRule, refuse } from "./rule.ts";

/** The bridge's batching and checks, wherever it runs (broker, bridge, API for HTTP ingest). */
export const ingestVars = z.object({
  BATCH_SIZE: positiveInt.max(50_000).default(500).describe("bridge batch flush: fixes per BullMQ job"),
  BATCH_MS: positiveInt.max(10_000).default(20).describe("bridge batch flush: longest wait in ms"),
  KEEPALIVE_S: positiveInt.default(60).describe("keepalive the devices are expected to use, seconds"),
  HOLD_CAP_MS: positiveInt
    .optional()
    .describe("longest a PUBACK is held while the queue is unavailable; default 1.2 x KEEPALIVE_S"),
  MAX_PAYLOAD_BYTES: positiveInt.default(64 * 1024).describe("larger payloads are rejected (E_TOO_LARGE)"),
  MAX_CLOCK_SKEW: positiveInt.default(300).describe("seconds a fix may lie in the future"),
  MAX_FIXES_PER_UPLOAD: positiveInt
    .default(1000)
    .describe("longest array in one message (/locations); a longer one is rejected whole (E_TOO_LARGE)"),
});

// Aedes drops a silent client after 1.5 x keepalive, and a held socket answers no PINGREQ:
// release held PUBACKs (by closing) before that, so the device reconnects and resends.
export const holdCapRule = configRule<z.output<typeof ingestVars>>(["KEEPALIVE_S", "HOLD_CAP_MS"], (c) => {
  const holdCap = c.HOLD_CAP_MS ?? Math.round(c.KEEPALIVE_S * 1000 * 1.2);
  if (holdCap >= c.KEEPALIVE_S * 1500)
    refuse("HOLD_CAP_MS", `must be below 1.5 x KEEPALIVE_S (${c.KEEPALIVE_S * 1500} ms)`);
  return { HOLD_CAP_MS: holdCap };
});
