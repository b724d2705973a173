import { z } from "zod";
import { exampleSecretsRule } from "./config/example-secrets.ts";
import { externalBrokerApiRule } from "./config/external-broker-api.ts";
import { holdCapRule } from "./config/ingest.ts";
import { packetAbovePayloadRule, tlsRule } from "./config/mqtt.ts";
import {
  type apiConfigSchema,
  type bridgeConfigSchema,
  type brokerConfigSchema,
  type cliConfigSchema,
  configSchema,
  type simulatorConfigSchema,
  type startConfigSchema,
  type workerConfigSchema,
} from "./config/processes.ts";
import { ConfigError } from "./config/rule.ts";

/**
 * Configuration: environment variables, parsed once at start. Each process parses its own schema
 * (core/config/processes.ts, composed from the pieces in core/config/) through `loadConfig`; code
 * receives the typed result and never reads `process.env` itself. README's configuration table
 * is generated from the pieces (scripts/config-table.ts).
 */
export {
  apiConfigSchema,
  bridgeConfigSchema,
  brokerConfigSchema,
  cliConfigSchema,
  configSchema,
  processConfigSchemas,
  simulatorConfigSchema,
  startConfigSchema,
  workerConfigSchema,
} from "./config/processes.ts";
export { ConfigError };

type AnyConfigSchema = z.ZodObject;

/** The parsed values, HOLD_CAP_MS with its derived default where the process has it. */
export type ConfigOf<S extends AnyConfigSchema> = "HOLD_CAP_MS" extends keyof z.output<S>
  ? Omit<z.output<S>, "HOLD_CAP_MS"> & { HOLD_CAP_MS: number }
  : z.output<S>;

/** Every variable: what the dependency types of the code pick from (`Pick<Config, …>`). */
export type Config = ConfigOf<typeof configSchema>;
export type BrokerConfig = ConfigOf<typeof brokerConfigSchema>;
export type BridgeConfig = ConfigOf<typeof bridgeConfigSchema>;
export type WorkerConfig = ConfigOf<typeof workerConfigSchema>;
export type ApiConfig = ConfigOf<typeof apiConfigSchema>;
export type CliConfig = ConfigOf<typeof cliConfigSchema>;
export type SimulatorConfig = ConfigOf<typeof simulatorConfigSchema>;
export type StartConfig = ConfigOf<typeof startConfigSchema>;

/** In this order, after each variable parsed on its own; each applies where its variables are. */
const rules = [holdCapRule, packetAbovePayloadRule, tlsRule, externalBrokerApiRule, exampleSecretsRule];

/**
 * Parses `env` with a process's schema; throws a ConfigError naming each invalid variable.
 * Without a schema: every variable (tests and tools running several parts in one process).
 */
export function loadConfig(env?: NodeJS.ProcessEnv): Config;
export function loadConfig<S extends AnyConfigSchema>(schema: S, env?: NodeJS.ProcessEnv): ConfigOf<S>;
export function loadConfig(
  schemaOrEnv?: AnyConfigSchema | NodeJS.ProcessEnv,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, unknown> {
  const [schema, source] =
    schemaOrEnv instanceof z.ZodObject ? [schemaOrEnv, env] : [configSchema, schemaOrEnv ?? process.env];
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const values: Record<string, unknown> = { ...parsed.data };
  for (const rule of rules) {
    if (rule.reads.every((name) => name in schema.shape)) Object.assign(values, rule.apply(values));
  }
  return values;
}

/** For entry points: parse the process's schema or print the reason and exit 2. */
export function loadConfigOrExit<S extends AnyConfigSchema>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
