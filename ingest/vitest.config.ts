import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "ingest",
    globalSetup: ["../storage/src/testing/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Integration files start their own brokers and databases; two at a time suits two cores.
    maxWorkers: 2,
  },
});
