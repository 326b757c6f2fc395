import { describe, expect, it } from "vitest";
import { en } from "./dict-en";
import { enGate } from "./dict-gate";
import { nbGate } from "./dict-gate-nb";
import { hasMessage, isLoaded, loadGate, loadLanguage, translate } from "./messages";

// Its own file, so no other test has loaded a whole dictionary into this module first.
describe("the gate texts before the whole dictionary", () => {
  it("answer the pages before login, and nothing else, until the whole dictionary is here", async () => {
    await loadGate("nb");
    expect(isLoaded("nb")).toBe(false);
    for (const key of Object.keys(enGate) as (keyof typeof enGate)[]) {
      expect(hasMessage(key)).toBe(true);
      expect(translate("nb", key)).toBe(nbGate[key]);
    }
    // A key of the logged-in console is not yet known: the console waits for it (App's WholeDictionary).
    expect(hasMessage("nav.live")).toBe(false);
    await Promise.all([loadLanguage("nb"), loadLanguage("nb")]);
    expect(isLoaded("nb")).toBe(true);
    expect(hasMessage("nav.live")).toBe(true);
    expect(translate("nb", "login.title")).toBe(nbGate["login.title"]);
    expect(translate("en", "nav.live")).not.toBe(en["nav.live"]); // English is not loaded: the Norwegian stands in
  });
});
