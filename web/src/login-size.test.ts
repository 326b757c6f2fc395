/**
 * The login page's JavaScript, measured on a real production build: the entry
 * chunk and every chunk it imports statically, plus the larger of the two
 * languages' gate texts (main.tsx fetches the user's one before the first render;
 * the whole dictionary follows, while the login form already shows): what
 * the browser must fetch before the login form can show, gzipped. Leaflet, zod,
 * the shared schemas and the rest of the logged-in console stay behind dynamic imports.
 */
import { gzipSync } from "node:zlib";
import { build, type Manifest } from "vite";
import { describe, expect, it } from "vitest";

/**
 * Budget in gzipped bytes: issue 17's 100 KB. React 19's runtime is about 65 KB of it; zod
 * (about 28 KB) is fetched only once an answer is to be parsed (login/answers.ts), and one
 * dictionary (about 12 KB) instead of both. It was 129 KB with zod and both dictionaries in.
 */
const BUDGET = 100 * 1024;

/** What the login page must not carry: the map, the live connection, zod and the schemas built with it. */
const LAZY_ONLY =
  /leaflet|geoman|markercluster|socket\.io|node_modules\/zod\/|\/schemas\/src\/(?!console-path\.ts$)/;

describe("the login page's JavaScript", () => {
  it("stays within its gzipped budget and holds no Leaflet, zod or second dictionary", {
    timeout: 240_000,
  }, async () => {
    // Vitest sets NODE_ENV=test, which Vite would keep, bundling React's development build.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    const result = await build({
      root: import.meta.dirname.replace(/\/src$/, ""),
      mode: "production",
      logLevel: "silent",
      build: { write: false, manifest: true, sourcemap: false },
    }).finally(() => {
      process.env.NODE_ENV = nodeEnv;
    });
    const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) =>
      "output" in r ? r.output : [],
    );
    const byName = new Map(outputs.map((o) => [o.fileName, o]));
    const manifestAsset = byName.get(".vite/manifest.json");
    if (manifestAsset?.type !== "asset") throw new Error("no manifest in the build");
    const manifest = JSON.parse(String(manifestAsset.source)) as Manifest;

    const entry = manifest["index.html"];
    if (!entry) throw new Error("no index.html entry in the manifest");
    const seen = new Set<string>();
    const visit = (key: string) => {
      const chunk = manifest[key];
      if (!chunk || seen.has(chunk.file)) return;
      seen.add(chunk.file);
      for (const i of chunk.imports ?? []) visit(i);
    };
    visit("index.html");
    const entryFiles = new Set(seen);

    // One language's gate texts, the larger: which one a user fetches depends on their language.
    const dictionaries = ["src/i18n/dict-gate.ts", "src/i18n/dict-gate-nb.ts"].map((key) => {
      const file = manifest[key]?.file;
      const out = file ? byName.get(file) : undefined;
      if (out?.type !== "chunk") throw new Error(`${key} is not a chunk of its own`);
      if (entryFiles.has(out.fileName)) throw new Error(`${key} is in the entry: both languages would load`);
      return out;
    });
    const dictionary = dictionaries.reduce((a, b) =>
      gzipSync(a.code, { level: 9 }).length >= gzipSync(b.code, { level: 9 }).length ? a : b,
    );
    seen.add(dictionary.fileName);

    let gzipped = 0;
    const modulesOf = new Map<string, string[]>();
    for (const file of seen) {
      const out = byName.get(file);
      if (out?.type !== "chunk") throw new Error(`${file} is not a chunk of the build`);
      gzipped += gzipSync(out.code, { level: 9 }).length;
      modulesOf.set(file, Object.keys(out.modules));
    }
    const modules = [...modulesOf.values()].flat();
    console.log(
      `login page JavaScript: ${(gzipped / 1024).toFixed(1)} KB gzipped in ${seen.size} chunk(s) (budget ${BUDGET / 1024} KB)`,
    );
    expect(modules.filter((m) => LAZY_ONLY.test(m))).toEqual([]);
    // The entry asks for its dictionary: neither language's texts are in the entry's own chunks.
    const entryModules = [...entryFiles].flatMap((f) => modulesOf.get(f) ?? []);
    expect(entryModules.filter((m) => /\/i18n\/dict/.test(m))).toEqual([]);
    expect(modules.filter((m) => /\/i18n\/dict-gate(-nb)?\.ts$/.test(m))).toHaveLength(1);
    // The whole dictionaries come after the login form: neither is part of what it waits for.
    expect(modules.filter((m) => /\/i18n\/dict-(en|nb)\.ts$/.test(m))).toEqual([]);
    expect(gzipped).toBeLessThanOrEqual(BUDGET);
  });
});
