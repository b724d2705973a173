import type { Aedes } from "aedes";
import type { Logger } from "../../core/logger.ts";

/** Aedes "clientError" and "connectionError": logged; Aedes closes the connection itself. */
export function logClientErrors(aedes: Aedes, log: Logger): void {
  aedes.on("clientError", (client, err) => {
    // a subscriber that stopped reading (MQTT_DRAIN_TIMEOUT_MS) is worth an operator's attention
    const level = err.message === "drain timeout" ? "warn" : "debug";
    log[level]({ clientId: client?.id, err: err.message }, "client error");
  });
  aedes.on("connectionError", (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, "connection error"),
  );
}
