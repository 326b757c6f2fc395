import { idParam } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import { locatorLookupForm } from "./locator-lookup-form";

const kari = "6f1c1c2e-0b7a-4d8e-9a51-3f0c2d9e8b11";

describe("the locator's look-up form", () => {
  it("takes a recipient's id as the API does, refusing the empty choice on the recipient field", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom("", kari, "kari", `${kari} `), fc.uuid(), fc.string()),
        (chosen) => {
          const r = locatorLookupForm.safeParse({ recipientId: chosen });
          expect(r.success).toBe(idParam.safeParse({ id: chosen }).success);
          if (r.success) expect(r.data).toEqual({ recipientId: chosen });
          else expect(r.error.issues.map((i) => i.path)).toEqual([["recipientId"]]);
        },
      ),
    );
    expect(locatorLookupForm.safeParse({ recipientId: "" }).success).toBe(false);
    expect(dictionaries.en["locator.error.choose"]).toBeTruthy();
    expect(dictionaries.nb["locator.error.choose"]).toBeTruthy();
  });
});
