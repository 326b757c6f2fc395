import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "api",
    globalSetup: ["../storage/src/testing/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
