import { defineConfig } from "vitest/config";

// The API serves the built files and answers /api and /socket.io on the same origin.
export default defineConfig({
  // The entry holds what the login page needs (React and the login pages: with the user's
  // dictionary, fetched before the first render, under 100 kB gzip; src/login-size.test.ts keeps
  // it there); zod, the logged-in shell, the live view with Leaflet, the recipient page (with
  // geoman) and administration load on demand.
  build: {
    outDir: "dist",
    sourcemap: true,
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      // TanStack Query marks its modules "use client" for server components; a browser bundle has none.
      onwarn(warning, warn) {
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" || warning.code === "SOURCEMAP_ERROR") return;
        warn(warning);
      },
    },
  },
  esbuild: { jsx: "automatic" },
  server: {
    proxy: { "/api": "http://localhost:3000", "/socket.io": { target: "ws://localhost:3000", ws: true } },
  },
  test: { name: "web", include: ["src/**/*.test.ts"] },
});
