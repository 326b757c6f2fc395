/**
 * The console fetches only the user's dictionary (messages.ts). dict.ts holds both and registers
 * them when imported, so a screen that imports a value from it puts both dictionaries in its chunk
 * and the second language on the wire (the activity log's screen did). Types may come from it. The
 * same holds for each language's own files (dict-en.ts, dict-gate.ts …): messages.ts fetches them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const src = join(import.meta.dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

describe("the dictionaries at run time", () => {
  it("are never imported as values by console code, only fetched through messages.ts", () => {
    // The dictionaries' own files put themselves together (dict-en.ts spreads dict-gate.ts …).
    const offenders = sources(src).filter((file) => {
      if (/\/i18n\/dict[^/]*\.ts$/.test(file)) return false;
      const text = readFileSync(file, "utf8");
      return /import\s+(?!type\b)[^;]*from\s+"(?:\.\.?\/)+(?:i18n\/)?dict(?:-[a-z-]+)?"/.test(text);
    });
    expect(offenders.map((f) => relative(src, f))).toEqual([]);
  });
});
