import { type Logger, pino } from "pino";

export type { Logger };

/**
 * pino JSON logs. Each process names itself; modules get child loggers carrying their
 * correlation ids (vehicleId, messageId, jobId). Per-message lines are debug level.
 */
export function createLogger(name: string, level = "info"): Logger {
  return pino({ name, level, base: { pid: process.pid, name } });
}
