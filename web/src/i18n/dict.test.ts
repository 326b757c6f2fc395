import { describe, expect, it } from "vitest";
import { en, interpolate, nb, placeholders } from "./dict";
import { enAdmin, nbAdmin } from "./dict-admin";

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

  it("have the administration's texts in both languages, with the same placeholders, none also in the entry's", () => {
    expect(Object.keys(nbAdmin).sort()).toEqual(Object.keys(enAdmin).sort());
    for (const key of Object.keys(enAdmin) as (keyof typeof enAdmin)[]) {
      expect(enAdmin[key].trim(), key).not.toBe("");
      expect(nbAdmin[key].trim(), key).not.toBe("");
      expect(placeholders(nbAdmin[key]), key).toEqual(placeholders(enAdmin[key]));
      expect(key in en, `${key} is in dict.ts too`).toBe(false);
    }
  });

  it("fill placeholders", () => {
    expect(interpolate(en["queue.taken"], { name: "Oda" })).toBe("Taken by Oda");
    expect(interpolate("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});
