import { defineConfig } from "vitest/config";

// The API serves the built files and answers /api and /socket.io on the same origin.
export default defineConfig({
  // The live view (React, Leaflet, zod schemas, socket.io) is one ~620 kB chunk (185 kB gzip);
  // the recipient page (with geoman) and administration load on demand.
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 700 },
  esbuild: { jsx: "automatic" },
  server: {
    proxy: { "/api": "http://localhost:3000", "/socket.io": { target: "ws://localhost:3000", ws: true } },
  },
  test: { name: "web", include: ["src/**/*.test.ts"] },
});
