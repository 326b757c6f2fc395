import { LOCATOR_REASON_MIN_LENGTH, reasonQuery } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import { reasonError, reasonForm } from "./reason-form";

describe("the locator's reason form", () => {
  it("takes a trimmed reason the API takes and long enough to say something, and words each refusal", () => {
    const reasons = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ minLength: 490, maxLength: 510 }),
      fc.constantFrom("sjekk", "  Savnet fra omsorgsbolig, søker etter henne  ", "               x"),
    );
    fc.assert(
      fc.property(reasons, (reason) => {
        const r = reasonForm.safeParse({ reason });
        const trimmed = reason.trim();
        const ok =
          trimmed.length >= LOCATOR_REASON_MIN_LENGTH && reasonQuery.safeParse({ reason: trimmed }).success;
        expect(r.success).toBe(ok);
        if (r.success) expect(r.data.reason).toBe(trimmed);
        else {
          expect(r.error.issues.every((i) => i.path[0] === "reason")).toBe(true);
          expect(dictionaries.en[reasonError(reason)]).toBeTruthy();
          expect(dictionaries.nb[reasonError(reason)]).toBeTruthy();
        }
      }),
    );
    expect(reasonError("sjekk")).toBe("reason.error.short");
    expect(reasonError("x".repeat(501))).toBe("reason.error.long");
  });
});
