// The size check's own tests (node --test tools/): run with the check in `npm run lint` and `npm test`.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  compare,
  isSource,
  MAX_FILE_LINES,
  MAX_FUNCTION_LINES,
  measure,
  offenders,
  sizeReason,
} from "./size-check.mjs";

const body = (n) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join("\n");
const fn = (name, n) => `${[`export function ${name}() {`, ...(n > 0 ? [body(n)] : []), "}"].join("\n")}\n`;

test("tests, their helpers, declarations and generated files are not source", () => {
  for (const p of ["api/src/a.ts", "web/src/App.tsx", "ingest/src/pipeline/store.ts", "tools/x.mts"])
    assert.equal(isSource(p), true, p);
  for (const p of [
    "api/src/a.test.ts",
    "api/src/a.int.test.ts",
    "schemas/src/s.property.test.ts",
    "web/src/App.test.tsx",
    "api/test/harness.ts",
    "ingest/src/testing/child.ts",
    "web/e2e/harness.ts",
    "api/openapi/schema.generated.d.ts",
    "api/src/x.generated.ts",
    "web/src/vite-env.d.ts",
    "api/dist/main.js",
    "tools/size-check.mjs",
  ])
    assert.equal(isSource(p), false, p);
});

test("a function's lines run from its first to its last line, whatever its length (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 20 }), (n, pad) => {
      const text = `${"// pad\n".repeat(pad)}${fn("f", n)}`;
      const m = measure("a.ts", text);
      assert.deepEqual(m.functions, [{ name: "f", lines: n + 2 }]);
      assert.equal(m.lines, pad + n + 2);
    }),
  );
});

test("arrows, methods and callbacks are named for where they are; a function inside a long one is not listed", () => {
  const text = [
    `const arrow = () => {\n${body(3)}\n};`,
    `class Writer {\n  write() {\n${body(2)}\n  }\n}`,
    `run(async () => {\n${body(1)}\n});`,
    `export function outer() {\n  const inner = () => {\n${body(MAX_FUNCTION_LINES)}\n  };\n}`,
    `export function small() {\n  const ok = () => 1;\n}`,
  ].join("\n");
  const names = measure("a.ts", text).functions.map((f) => f.name);
  assert.deepEqual(names, ["arrow", "Writer > write", "run(callback)", "outer", "small", "small > ok"]);
});

test("the reason counts only in the file's first lines, and exempts the file", () => {
  const long = `${fn("big", MAX_FUNCTION_LINES)}${"\n".repeat(MAX_FILE_LINES)}`;
  assert.equal(
    sizeReason("// size: the dictionary, one entry per key\nx"),
    "the dictionary, one entry per key",
  );
  assert.equal(sizeReason("// size:\nx"), undefined);
  assert.equal(sizeReason(`${"\n".repeat(10)}// size: too late`), undefined);
  const files = { "a.ts": long, "b.ts": `// size: generated-like table\n${long}` };
  const o = offenders(Object.keys(files), (p) => files[p]);
  assert.deepEqual(Object.keys(o.files), ["a.ts"]);
  assert.deepEqual(Object.keys(o.functions), ["a.ts :: big"]);
  assert.deepEqual(o.reasoned, [{ path: "b.ts", reason: "generated-like table" }]);
});

test("the baseline may only shrink: growth and newcomers fail, shrinking only hints (property)", () => {
  // Sizes close together, so equal, grown and shrunk entries all come up.
  const entry = fc.dictionary(
    fc.constantFrom("a.ts", "b.ts", "c.ts", "d.ts"),
    fc.integer({ min: 401, max: 404 }),
  );
  fc.assert(
    fc.property(entry, entry, (now, base) => {
      const { failures, shrinkable } = compare({ files: now, functions: {} }, { files: base, functions: {} });
      const expected = Object.entries(now).filter(([k, v]) => !(k in base) || v > base[k]).length;
      assert.equal(failures.length, expected);
      const shrunk = Object.keys(base).filter((k) => !(k in now) || now[k] < base[k]).length;
      assert.equal(shrinkable.length, shrunk);
    }),
  );
});
