import { describe, expect, it } from "vitest";
import { en, interpolate, nb, placeholders } from "./dict";

describe("the dictionaries", () => {
  it("have the same keys in both languages, none empty", () => {
    expect(Object.keys(nb).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of [...Object.entries(en), ...Object.entries(nb)]) {
      expect(text.trim(), key).not.toBe("");
    }
  });

  it("use the same placeholders in both languages", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(nb[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("fill placeholders", () => {
    expect(interpolate(en["queue.taken"], { name: "Oda" })).toBe("Taken by Oda");
    expect(interpolate("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});
