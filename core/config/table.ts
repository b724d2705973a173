import type { z } from "zod";
import { databaseVars, localStateVars, loggingVars, redisVars } from "./common.ts";
import { demoVars } from "./example-secrets.ts";
import { externalBrokerApiVars } from "./external-broker-api.ts";
import {
  derivationVars,
  fleetDayVars,
  partitionVars,
  rejectRetentionVars,
  retentionVars,
} from "./history.ts";
import { accessVars, apiLimitVars, healthVars, httpVars, osmandVars, uiVars } from "./http.ts";
import { ingestVars } from "./ingest.ts";
import { externalBrokerVars, mqttBrokerVars, mqttLimitVars, mqttListenerVars } from "./mqtt.ts";
import { notifyVars, smtpVars, webhookVars } from "./notifications.ts";
import { processConfigSchemas } from "./processes.ts";
import { queueVars, workerVars } from "./queueing.ts";
import { simulatorVars } from "./simulator.ts";
import { teltonikaVars } from "./teltonika.ts";

/** The pieces in README's order: related variables stay together. */
export const configPieces: readonly z.ZodObject[] = [
  databaseVars,
  redisVars,
  mqttListenerVars,
  teltonikaVars,
  httpVars,
  osmandVars,
  ingestVars,
  mqttLimitVars,
  queueVars,
  workerVars,
  partitionVars,
  retentionVars,
  rejectRetentionVars,
  fleetDayVars,
  derivationVars,
  healthVars,
  accessVars,
  demoVars,
  apiLimitVars,
  uiVars,
  mqttBrokerVars,
  externalBrokerVars,
  externalBrokerApiVars,
  webhookVars,
  notifyVars,
  smtpVars,
  localStateVars,
  simulatorVars,
  loggingVars,
];

const accepts = (schema: z.ZodType | undefined, value: unknown) => schema?.safeParse(value).success ?? false;

/** The processes that read a variable; "(optional)" where one takes as optional what the others require. */
function usedBy(name: string, required: boolean): string {
  return Object.entries(processConfigSchemas)
    .filter(([, schema]) => name in schema.shape)
    .map(([role, schema]) =>
      required && accepts(schema.shape[name as keyof typeof schema.shape], undefined)
        ? `${role} (optional)`
        : role,
    )
    .join(", ");
}

/** README's configuration table, from the pieces (scripts/config-table.ts prints it). */
export function configTable(): string {
  const rows = ["| variable | default | used by | meaning |", "|---|---|---|---|"];
  for (const piece of configPieces) {
    for (const [name, schema] of Object.entries(piece.shape) as [string, z.ZodType][]) {
      const parsed = schema.safeParse(undefined);
      const fallback = parsed.success
        ? parsed.data === undefined
          ? "unset"
          : `\`${String(parsed.data)}\``
        : "required";
      rows.push(
        `| \`${name}\` | ${fallback} | ${usedBy(name, !parsed.success)} | ${schema.description ?? ""} |`,
      );
    }
  }
  return rows.join("\n");
}
