import { defineConfig } from "vitest/config";

// End-to-end: the whole stack in-process (embedded PostgreSQL from the storage
// test setup, embedded broker, ingest, API serving web/dist) driven through
// Debian's Chromium with playwright-core. Build the console first.
export default defineConfig({
  test: {
    name: "web-e2e",
    include: ["e2e/**/*.e2e.test.ts"],
    globalSetup: ["../storage/src/testing/global-setup.ts"],
    // Generous: in CI this suite runs beside the hostile-input lab, and a login can wait on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
