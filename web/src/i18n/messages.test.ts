import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { en } from "./dict-en";
import { hasMessage, isLoaded, loadLanguage, translate } from "./messages";

// This file never imports dict.ts, which would register both languages at once.
describe("the console's texts at run time", () => {
  it("fetch only the language asked for, and answer in it once it is there", async () => {
    expect(isLoaded("nb")).toBe(false);
    expect(isLoaded("en")).toBe(false);
    expect(hasMessage("login.title")).toBe(false);
    await loadLanguage("nb");
    expect(isLoaded("nb")).toBe(true);
    expect(isLoaded("en")).toBe(false);
    expect(translate("nb", "login.title")).toBe("Logg inn i Vakt");
    // Asked for before it came (never done by the console), a language falls back to the loaded one, not a key.
    expect(translate("en", "login.title")).toBe("Logg inn i Vakt");
    await loadLanguage("en");
    expect(translate("en", "login.title")).toBe(en["login.title"]);
  });

  it("know a key built at run time exactly when the dictionary has it", async () => {
    await loadLanguage("nb");
    const known = fc.constantFrom(...Object.keys(en));
    const anything = fc.oneof(
      fc.string(),
      fc.constantFrom("__proto__", "toString", "problem.", "constructor"),
    );
    fc.assert(
      fc.property(fc.oneof(known, anything), (key) => {
        expect(hasMessage(key)).toBe(Object.hasOwn(en, key));
      }),
    );
  });
});
