import { z } from "zod";
import { configRule, refuse } from "./rule.ts";

/**
 * External-broker mode (docker-compose.scale.yml): the broker's management API, through which the
 * processes that revoke a device (api, cli) end its live session (core/external-broker-kick.ts).
 */
export const externalBrokerApiVars = z.object({
  EXTERNAL_BROKER_API_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "external-broker mode: EMQX REST API (e.g. http://emqx1:18083) that disconnects a rotated or removed device; unset: its session lives on (README Scaling out)",
    ),
  EXTERNAL_BROKER_API_KEY: z.string().optional().describe("API key for EXTERNAL_BROKER_API_URL"),
  EXTERNAL_BROKER_API_SECRET: z.string().optional().describe("secret of EXTERNAL_BROKER_API_KEY"),
});

export const externalBrokerApiRule = configRule<z.output<typeof externalBrokerApiVars>>(
  ["EXTERNAL_BROKER_API_URL", "EXTERNAL_BROKER_API_KEY", "EXTERNAL_BROKER_API_SECRET"],
  (c) => {
    if (c.EXTERNAL_BROKER_API_URL && !(c.EXTERNAL_BROKER_API_KEY && c.EXTERNAL_BROKER_API_SECRET))
      refuse("EXTERNAL_BROKER_API_URL", "needs EXTERNAL_BROKER_API_KEY and EXTERNAL_BROKER_API_SECRET");
    return undefined;
  },
);
