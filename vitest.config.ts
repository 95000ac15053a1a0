import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "infra/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: end-to-end files start servers and child processes, so keep the pool small.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
