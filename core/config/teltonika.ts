import { z } from "zod";
import { port, positiveInt } from "./fields.ts";

/** Teltonika devices over TCP (broker/teltonika-tcp.ts), in the broker process beside MQTT. */
export const teltonikaVars = z.object({
  TELTONIKA_TCP_PORT: port
    .optional()
    .describe(
      "Teltonika Codec 8/8E over TCP (IMEI handshake, AVL packets) on MQTT_HOST; off when unset. A packet declaring more than MAX_PAYLOAD_BYTES closes the connection",
    ),
  TELTONIKA_IDLE_TIMEOUT_S: positiveInt
    .default(600)
    .describe("a Teltonika TCP connection silent this long is closed (the device reconnects to send)"),
});
