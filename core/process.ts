import type { Logger } from "./logger.ts";

/**
 * Process lifecycle for every entry point: SIGTERM/SIGINT run `shutdown` once (then exit 0),
 * a second signal exits at once, and an unexpected error is logged fatal and exits non-zero.
 */
export function handleProcessSignals(log: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  const fatal = (err: unknown) => {
    log.fatal({ err }, "unexpected error");
    process.exit(1);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
}
