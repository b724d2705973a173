import { z } from "zod";
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
import { queueVars, workerVars } from "./queueing.ts";
import { simulatorVars } from "./simulator.ts";
import { teltonikaVars } from "./teltonika.ts";

/**
 * The schema of each process, composed from the pieces: a process parses only the variables it
 * uses, so it is never refused over one it does not (the worker over a bad HTTP_PORT).
 */

/** What feeds the bridge into the queues, in whichever process hosts it. */
const bridgeHost = {
  ...databaseVars.shape,
  ...redisVars.shape,
  ...loggingVars.shape,
  ...queueVars.shape,
  ...ingestVars.shape,
  ...retentionVars.shape,
  ...demoVars.shape,
};

/** broker/main.ts: the embedded broker and the bridge in one process. */
export const brokerConfigSchema = z.object({
  ...bridgeHost,
  ...mqttListenerVars.shape,
  ...mqttBrokerVars.shape,
  ...mqttLimitVars.shape,
  ...teltonikaVars.shape,
});

/** bridge/main.ts: the bridge alone, reading from an external broker. */
export const bridgeConfigSchema = z.object({ ...bridgeHost, ...externalBrokerVars.shape });

/** worker/main.ts */
export const workerConfigSchema = z.object({
  ...databaseVars.shape,
  ...redisVars.shape,
  ...loggingVars.shape,
  ...queueVars.shape,
  ...workerVars.shape,
  ...partitionVars.shape,
  ...retentionVars.shape,
  ...rejectRetentionVars.shape,
  ...fleetDayVars.shape,
  ...derivationVars.shape,
  ...demoVars.shape,
  ...webhookVars.shape,
  ...notifyVars.shape,
  ...smtpVars.shape,
});

/**
 * api/main.ts: also hosts a bridge, for HTTP ingest; tells devices the broker's listeners (MQTT_PORT,
 * MQTT_WS_PORT, MQTT_TLS_PORT, TELTONIKA_TCP_PORT: the connection settings a new vehicle is shown).
 */
export const apiConfigSchema = z.object({
  ...bridgeHost,
  ...httpVars.shape,
  ...osmandVars.shape,
  ...accessVars.shape,
  ...healthVars.shape,
  ...apiLimitVars.shape,
  ...uiVars.shape,
  ...localStateVars.shape,
  ...fleetDayVars.shape,
  ...externalBrokerApiVars.shape,
  ...webhookVars.shape,
  MQTT_PORT: mqttListenerVars.shape.MQTT_PORT,
  MQTT_WS_PORT: mqttListenerVars.shape.MQTT_WS_PORT,
  MQTT_TLS_PORT: mqttListenerVars.shape.MQTT_TLS_PORT,
  TELTONIKA_TCP_PORT: teltonikaVars.shape.TELTONIKA_TCP_PORT,
  // the web UI calls a vehicle moving from the worker's speed (trips, moving time)
  MOVING_SPEED_KMH: derivationVars.shape.MOVING_SPEED_KMH,
  // and draws a silence longer than the one that ends a trip as a gap in a history track
  TRIP_GAP_SECONDS: derivationVars.shape.TRIP_GAP_SECONDS,
});

/** scripts/cli.ts */
export const cliConfigSchema = z.object({
  ...databaseVars.shape,
  ...demoVars.shape,
  ...redisVars.shape,
  ...queueVars.shape,
  ...externalBrokerApiVars.shape,
  MQTT_PORT: mqttListenerVars.shape.MQTT_PORT,
});

/**
 * simulator/main.ts: the platform's ports and token as defaults; the database only when set
 * (registration without the API).
 */
export const simulatorConfigSchema = z.object({
  ...simulatorVars.shape,
  ...databaseVars.partial().shape,
  ...redisVars.partial().shape,
  ...localStateVars.shape,
  MQTT_PORT: mqttListenerVars.shape.MQTT_PORT,
  HTTP_PORT: httpVars.shape.HTTP_PORT,
  TELTONIKA_TCP_PORT: teltonikaVars.shape.TELTONIKA_TCP_PORT,
  OSMAND_PORT: osmandVars.shape.OSMAND_PORT,
  ADMIN_TOKEN: accessVars.shape.ADMIN_TOKEN,
  ...demoVars.shape,
});

/** scripts/start.ts runs broker, worker and API with one environment: it checks theirs at once. */
export const startConfigSchema = z.object({
  ...brokerConfigSchema.shape,
  ...workerConfigSchema.shape,
  ...apiConfigSchema.shape,
});

/** The processes by role, as the image runs them (scripts/docker-entrypoint.sh): README's "used by". */
export const processConfigSchemas = {
  broker: brokerConfigSchema,
  bridge: bridgeConfigSchema,
  worker: workerConfigSchema,
  api: apiConfigSchema,
  simulator: simulatorConfigSchema,
  cli: cliConfigSchema,
} as const;

/**
 * Every variable of every process, each as optional as it is anywhere (EXTERNAL_MQTT_URL only
 * bridge/main.ts requires): the `Config` type, and tests that run several parts in one process.
 */
export const configSchema = z.object({
  ...startConfigSchema.shape,
  ...externalBrokerVars.shape,
  EXTERNAL_MQTT_URL: externalBrokerVars.shape.EXTERNAL_MQTT_URL.optional(),
  ...simulatorVars.shape,
});
