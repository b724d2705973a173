import { z } from "zod";

/** Pieces nearly every process takes: where the services are, how it logs, its local state. */
export const databaseVars = z.object({
  DATABASE_URL: z
    .string()
    .url()
    .describe("PostgreSQL+PostGIS connection string (set by scripts/services locally)"),
});

export const redisVars = z.object({
  REDIS_URL: z.string().url().describe("Redis connection string (set by scripts/services locally)"),
});

export const loggingVars = z.object({
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export const localStateVars = z.object({
  DATA_DIR: z.string().default(".data").describe("local state: services, generated admin token"),
});
