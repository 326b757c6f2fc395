#!/usr/bin/env node
/**
 * Production build of a Node service package: `node ../tools/bundle.mjs name=src/entry.ts ...`
 * run in the package's folder writes dist/<name>.js, plain JavaScript that `node` runs (no tsx).
 *
 * The workspace packages (@vakt/schemas, @vakt/storage) are bundled in, since they export
 * TypeScript sources; every other package stays an import, resolved from the production
 * node_modules (`npm ci --omit=dev`). The SQL migrations are copied beside the bundles
 * (storage's migrationsDir looks there when the bundle runs).
 */
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";

const cwd = process.cwd();
const entryPoints = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [name, file] = arg.split("=");
    if (!name || !file) throw new Error(`expected name=src/file.ts, got ${arg}`);
    return [name, file];
  }),
);
const outdir = join(cwd, "dist");
await rm(outdir, { recursive: true, force: true });

/** Packages from npm stay imports; workspace packages and relative files are bundled. */
const externalPackages = {
  name: "external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@vakt/") || args.path.startsWith("node:")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const result = await build({
  entryPoints,
  outdir,
  bundle: true,
  // One self-contained file per entry, so that each finds dist/migrations beside itself.
  splitting: false,
  format: "esm",
  platform: "node",
  target: "node20.19",
  sourcemap: true,
  plugins: [externalPackages],
  logLevel: "warning",
  metafile: true,
});
await cp(join(cwd, "..", "storage", "migrations"), join(outdir, "migrations"), { recursive: true });
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".js"));
console.log(`bundled ${Object.keys(entryPoints).join(", ")} into ${outputs.length} files in dist/`);
