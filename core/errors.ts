/**
 * Error classes that one process's code throws and another's catches or tells apart. Errors that
 * stay inside one folder stay there; errors of one registry stay with it (core/vehicles.ts).
 */

/**
 * A message held past HOLD_CAP_MS without reaching the queue (bridge/batcher.ts) or without a slot
 * in the bridge (broker/limits/held-limit.ts): the connection is closed without PUBACK, so the device resends.
 */
export class HoldCapError extends Error {
  override name = "HoldCapError";
}
