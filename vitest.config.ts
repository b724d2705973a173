import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    // integration tests print pino logs only at warn and above
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
  },
});
