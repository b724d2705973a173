import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:faults`: the fault-injection suite, on services of its own (no global setup), one
// file at a time. Production defaults for the limits (DEVICE_RATE_LIMIT …), unlike the main suite.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 240_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
  },
});
