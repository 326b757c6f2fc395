/**
 * Properties of every zod schema this package exports (found by walking the
 * package's exports, so a new schema is covered without an entry here):
 *
 * 1. Hostile input (any value: prototype keys, NaN, huge and odd strings,
 *    deep nesting, SQL and script injection text) never makes `safeParse`
 *    throw; a rejection always carries issues with a path and a message that
 *    serialise to JSON (they become the API's problem+json and dead-letter
 *    details).
 * 2. Input generated from the schema's own JSON Schema (zod's
 *    `toJSONSchema`, input side), with injection strings wherever free text
 *    is allowed: parsing never throws; an accepted value's output survives the
 *    wire (JSON out and back) and parses again to the same value, with free
 *    text kept verbatim. Every schema accepts at least some generated values,
 *    so the property is never vacuous.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as exported from "./index";
import { arbitraryOf, INJECTION_STRINGS, type JsonSchema } from "./testing";

const schemas: [string, z.ZodType][] = Object.entries(exported as Record<string, unknown>).flatMap(
  ([name, value]) => (value instanceof z.ZodType ? [[name, value]] : []),
);

/**
 * Whether a schema changes a value's shape on the way in (a transform, or a pipe from one type to
 * another: environment strings to numbers, OsmAnd times to epoch ms). Such a schema's output is not
 * its input language, so the wire round trip does not apply to it.
 */
function transforms(schema: z.ZodType): boolean {
  const seen = new Set<unknown>();
  const visit = (node: unknown, depth: number): boolean => {
    if (depth > 40 || node === null || typeof node !== "object" || seen.has(node)) return false;
    seen.add(node);
    if (node instanceof z.ZodType) {
      const def = (node as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
      if (def.type === "transform" || def.type === "pipe" || def.type === "lazy") return true;
      return Object.values(def).some((v) => visit(v, depth + 1));
    }
    if (Array.isArray(node)) return node.some((v) => visit(v, depth + 1));
    if (Object.getPrototypeOf(node) === Object.prototype) {
      return Object.values(node).some((v) => visit(v, depth + 1));
    }
    return false;
  };
  return visit(schema, 0);
}

/** Values anything outside may send: prototype keys, NaN, deep nesting, injection text, odd numbers. */
const hostile = fc.oneof(
  fc.anything({
    maxDepth: 4,
    withBigInt: false,
    withNullPrototype: true,
    withObjectString: true,
    withBoxedValues: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
    withMap: true,
    withSet: true,
    key: fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "prototype", "v", "id", "t")),
  }),
  fc.constantFrom(
    ...INJECTION_STRINGS,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    "1e309",
    "0x10",
    "",
    " ",
    "a".repeat(100_000),
  ),
  fc.dictionary(fc.constantFrom("__proto__", "constructor", "id", "v", "t"), fc.jsonValue()),
);

const counts = { hostile: 0, generated: 0, accepted: 0 };

describe("every exported schema", () => {
  it("finds the package's schemas", () => {
    expect(schemas.length).toBeGreaterThan(50);
  });

  it.each(schemas)(
    "%s: hostile input never throws; rejections carry serialisable issues",
    (_name, schema) => {
      fc.assert(
        fc.property(hostile, (value) => {
          counts.hostile++;
          const r = schema.safeParse(value);
          if (!r.success) {
            expect(r.error.issues.length).toBeGreaterThan(0);
            for (const issue of r.error.issues) {
              expect(Array.isArray(issue.path)).toBe(true);
              expect(typeof issue.message).toBe("string");
            }
            expect(() => JSON.stringify(r.error.issues)).not.toThrow();
          }
        }),
        { numRuns: 100 },
      );
    },
  );

  it.each(schemas)("%s: generated input parses without throwing and survives the wire", (_name, schema) => {
    const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    const defs = json.$defs ?? {};
    const arb = arbitraryOf(json, (ref) => defs[ref.replace(/^#\/\$defs\//, "")]);
    let accepted = 0;
    const changesShape = transforms(schema);
    const property = fc.property(arb, (value) => {
      counts.generated++;
      const r = schema.safeParse(value);
      if (!r.success) return;
      accepted++;
      if (changesShape) return;
      const wire = JSON.parse(JSON.stringify(r.data));
      const again = schema.safeParse(wire);
      expect(again.success).toBe(true);
      expect(JSON.parse(JSON.stringify(again.data))).toEqual(wire);
    });
    fc.assert(property, { numRuns: 100 });
    // Some schemas accept few generated values (refinements and ranges JSON Schema cannot say, such as
    // OsmAnd's numeric strings): when 100 found none, look further before calling the property vacuous.
    if (accepted === 0) fc.assert(property, { numRuns: 3_000 });
    counts.accepted += accepted;
    expect(accepted, "no generated value was accepted: the property would be vacuous").toBeGreaterThan(0);
  });

  it("reports the number of cases tried", () => {
    console.log(
      `schema properties: ${schemas.length} schemas, ${counts.hostile} hostile and ${counts.generated} generated inputs (${counts.accepted} accepted)`,
    );
    expect(counts.hostile).toBeGreaterThan(0);
  });
});
