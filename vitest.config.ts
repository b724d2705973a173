import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the fault-injection suite kills and stops services of its own for minutes:
    // `npm run test:faults` (test/faults/vitest.config.ts), which scripts/test runs after this one
    exclude: ["**/node_modules/**", "test/faults/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    env: {
      // integration tests print pino logs only at warn and above
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      // tests publish thousands of messages from one device at once; the tests of the device rate
      // limit (test/security/limits.test.ts, test/faults) set their own
      DEVICE_RATE_LIMIT: process.env.DEVICE_RATE_LIMIT ?? "1000000",
      DEVICE_RATE_BURST: process.env.DEVICE_RATE_BURST ?? "1000000",
    },
  },
});
