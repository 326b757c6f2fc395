import { defineConfig } from "vitest/config";

// Property tests generate hundreds of inputs per schema: about a second each on a quiet machine,
// more when CI runs other suites beside them, so the default 5 s is too tight a bound.
export default defineConfig({ test: { name: "schemas", testTimeout: 30_000 } });
