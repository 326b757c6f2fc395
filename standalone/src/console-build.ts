/**
 * The console build for `npm start`, skipped when nothing it is built from has
 * changed: a SHA-256 over the console's sources (web/, without tests, and the
 * schemas it imports) and the lockfile is stored beside the built files
 * (web/dist/.source-hash) after a build, and compared before the next one.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "../..");

export interface ConsoleBuildPaths {
  root: string;
  /** Files and folders (relative to root) the console is built from. */
  inputs: string[];
  dist: string;
}

export const consoleBuildPaths: ConsoleBuildPaths = {
  root: repoRoot,
  inputs: [
    "package-lock.json",
    "web/package.json",
    "web/index.html",
    "web/vite.config.ts",
    "web/tsconfig.json",
    "web/src",
    "schemas/package.json",
    "schemas/src",
  ],
  dist: "web/dist",
};

const HASH_FILE = ".source-hash";
const skipped = (name: string) => name === "node_modules" || name === "dist" || /\.test\.tsx?$/.test(name);

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return existsSync(path) ? [path] : [];
  const nested = await Promise.all(
    entries.filter((e) => !skipped(e.name)).map((e) => filesUnder(join(path, e.name))),
  );
  return nested.flat();
}

/** SHA-256 over the names and contents of every input file, in a stable order. */
export async function consoleSourceHash(paths: ConsoleBuildPaths = consoleBuildPaths): Promise<string> {
  const files = (await Promise.all(paths.inputs.map((p) => filesUnder(join(paths.root, p))))).flat().sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(`${relative(paths.root, file)}\0`);
    hash.update(await readFile(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

export type ConsoleBuildDecision =
  | { build: false; hash: string }
  | { build: true; hash: string; reason: "no build" | "no hash" | "sources changed" };

/** Whether the console must be built: no index.html, no stored hash, or a different one. */
export async function consoleBuildDecision(
  paths: ConsoleBuildPaths = consoleBuildPaths,
): Promise<ConsoleBuildDecision> {
  const hash = await consoleSourceHash(paths);
  const dist = join(paths.root, paths.dist);
  if (!existsSync(join(dist, "index.html"))) return { build: true, hash, reason: "no build" };
  const stored = await readFile(join(dist, HASH_FILE), "utf8").catch(() => undefined);
  if (stored === undefined) return { build: true, hash, reason: "no hash" };
  return stored.trim() === hash ? { build: false, hash } : { build: true, hash, reason: "sources changed" };
}

/** Records that the files in dist were built from sources with this hash. */
export async function recordConsoleBuild(
  hash: string,
  paths: ConsoleBuildPaths = consoleBuildPaths,
): Promise<void> {
  await writeFile(join(paths.root, paths.dist, HASH_FILE), `${hash}\n`);
}

/** `npm start`'s first step: builds the console unless its sources are unchanged. */
export async function ensureConsoleBuilt(log: (line: string) => void = console.log): Promise<boolean> {
  const decision = await consoleBuildDecision();
  if (!decision.build) {
    log("vakt: console unchanged since its last build; not rebuilding (web/dist)");
    return false;
  }
  log(`vakt: building the console (${decision.reason})`);
  const run = spawnSync("npm", ["run", "build", "-w", "@vakt/web"], { cwd: repoRoot, stdio: "inherit" });
  if (run.status !== 0) throw new Error(`console build failed (exit ${run.status ?? run.signal})`);
  // Hashed before the build: a source edited during it makes the next start build again.
  await recordConsoleBuild(decision.hash);
  return true;
}
