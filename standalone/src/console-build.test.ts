import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type ConsoleBuildPaths,
  consoleBuildDecision,
  consoleSourceHash,
  recordConsoleBuild,
} from "./console-build";

let root: string;
let paths: ConsoleBuildPaths;
const put = async (file: string, text: string) => {
  await mkdir(join(root, file, ".."), { recursive: true });
  await writeFile(join(root, file), text);
};

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vakt-console-build-"));
  paths = {
    root,
    inputs: ["package-lock.json", "web/index.html", "web/src", "schemas/src"],
    dist: "web/dist",
  };
  await put("package-lock.json", '{"lockfileVersion":3}');
  await put("web/index.html", '<div id="root"></div>');
  await put("web/src/main.tsx", "export const a = 1;");
  await put("web/src/main.test.ts", "test");
  await put("schemas/src/index.ts", "export const b = 2;");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What `npm run build -w @vakt/web` leaves behind, plus the recorded hash. */
async function build() {
  const decision = await consoleBuildDecision(paths);
  await put("web/dist/index.html", "<html></html>");
  await recordConsoleBuild(decision.hash, paths);
}

describe("skipping the console build on npm start", () => {
  it("builds when there is no build, or a build without a recorded hash", async () => {
    expect(await consoleBuildDecision(paths)).toMatchObject({ build: true, reason: "no build" });
    await put("web/dist/index.html", "<html></html>");
    expect(await consoleBuildDecision(paths)).toMatchObject({ build: true, reason: "no hash" });
  });

  it("skips the build when nothing it is built from changed", async () => {
    await build();
    expect(await consoleBuildDecision(paths)).toMatchObject({ build: false });
    // Tests are not part of the console.
    await put("web/src/main.test.ts", "another test");
    expect(await consoleBuildDecision(paths)).toMatchObject({ build: false });
  });

  it("builds again after a source, a shared schema, the lockfile or a new file changes", async () => {
    for (const [file, text] of [
      ["web/src/main.tsx", "export const a = 2;"],
      ["schemas/src/index.ts", "export const b = 3;"],
      ["package-lock.json", '{"lockfileVersion":3,"packages":{}}'],
      ["web/src/new.ts", "export {};"],
    ] as const) {
      await build();
      await put(file, text);
      expect(await consoleBuildDecision(paths), file).toMatchObject({
        build: true,
        reason: "sources changed",
      });
    }
  });

  it("hashes names as well as contents", async () => {
    const before = await consoleSourceHash(paths);
    await rm(join(root, "web/src/main.tsx"));
    await put("web/src/renamed.tsx", "export const a = 1;");
    expect(await consoleSourceHash(paths)).not.toBe(before);
  });
});
