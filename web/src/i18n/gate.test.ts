/**
 * The pages before login show only the gate texts (dict-gate.ts): main.tsx fetches the whole
 * dictionary later. Everything reachable from main.tsx through static imports is what can render
 * before then, so every key it names, literally or as a `prefix.${…}` template, must be a gate key;
 * and the gate holds exactly the keys of its prefixes, in both languages.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { en, nb } from "./dict";
import { enGate } from "./dict-gate";
import { nbGate } from "./dict-gate-nb";

const GATE_PREFIXES = [
  "app.",
  "login.",
  "setPassword.",
  "forgotPassword.",
  "problem.",
  "boundary.",
  "common.",
];
const src = join(import.meta.dirname, "..");
const isGateKey = (key: string) => GATE_PREFIXES.some((p) => key.startsWith(p));

/** The console's own files main.tsx reaches without a dynamic import() (type-only imports left out). */
function staticGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"(\.[^"]+)";/gms)) {
      const base = join(dirname(file), m[1] ?? "");
      const found = [".ts", ".tsx", "/index.ts"].map((ext) => base + ext).find(existsSync);
      if (found) visit(found);
    }
  };
  visit(entry);
  return [...seen];
}

describe("the gate texts, fetched before the login page shows", () => {
  it("are exactly the keys of the gate prefixes, the same in both languages", () => {
    const gatePart = Object.keys(en).filter(isGateKey).sort();
    expect(Object.keys(enGate).sort()).toEqual(gatePart);
    expect(Object.keys(nbGate).sort()).toEqual(gatePart);
    for (const key of gatePart) expect(nb[key as keyof typeof nb]).toBe(nbGate[key as keyof typeof nbGate]);
  });

  it("hold every text the modules before the logged-in console name", () => {
    const files = staticGraph(join(src, "main.tsx"));
    // The walk must reach the pages, or the check below checks nothing.
    expect(files.map((f) => relative(src, f))).toEqual(
      expect.arrayContaining(["App.tsx", "login/LoginPage.tsx", "ui/ErrorBoundary.tsx", "api/client.ts"]),
    );
    expect(files.map((f) => relative(src, f))).not.toContain("Shell.tsx");
    const keyPrefixes = new Set(Object.keys(en).map((k) => `${k.split(".")[0]}.`));
    const outside: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const [, key = ""] of text.matchAll(/"([a-zA-Z]+\.[\w.#]+)"/g))
        if (Object.hasOwn(en, key) && !isGateKey(key)) outside.push(`${relative(src, file)}: ${key}`);
      for (const [, prefix = ""] of text.matchAll(/`([a-zA-Z]+\.)\$\{/g))
        if (keyPrefixes.has(prefix) && !isGateKey(prefix)) outside.push(`${relative(src, file)}: ${prefix}…`);
    }
    expect(outside).toEqual([]);
  });
});
