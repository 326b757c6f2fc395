import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, parseDeviceJson } from "./storable";

const nested = (depth: number, open: string, close: string, inner = "1") =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

describe("parseDeviceJson", () => {
  it("parses every JSON value up to the depth bound as JSON.parse does", () => {
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: "medium", maxDepth: MAX_JSON_DEPTH - 1 }), (v) => {
        const text = JSON.stringify(v);
        const r = parseDeviceJson(text);
        expect(r).toEqual({ ok: true, value: JSON.parse(text) });
      }),
    );
  });

  it("refuses nesting past the bound, whatever brackets and strings surround it, without throwing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_JSON_DEPTH + 1, max: 20_000 }),
        fc.constantFrom(["[", "]"], ['{"a":', "}"], ['[{"k":[', "]}]"]),
        fc.string(),
        (depth, [open, close], s) => {
          const r = parseDeviceJson(
            `{"s":${JSON.stringify(s)},"x":${nested(depth, open as string, close as string)}}`,
          );
          expect(r).toEqual({ ok: false, detail: `nested deeper than ${MAX_JSON_DEPTH} levels` });
        },
      ),
    );
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const inner = JSON.stringify(`\\"${"[".repeat(500)}`);
    expect(parseDeviceJson(`{"a":${inner}}`).ok).toBe(true);
  });

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => {
        const r = parseDeviceJson(s);
        expect(typeof r.ok).toBe("boolean");
      }),
    );
  });
});
