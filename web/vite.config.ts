import { defineConfig } from "vitest/config";

// The API serves the built files and answers /api and /socket.io on the same origin.
export default defineConfig({
  build: { outDir: "dist", sourcemap: true },
  esbuild: { jsx: "automatic" },
  server: {
    proxy: { "/api": "http://localhost:3000", "/socket.io": { target: "ws://localhost:3000", ws: true } },
  },
  test: { name: "web", include: ["src/**/*.test.ts"] },
});
