import { privacyReason, reasonRequiredQuery } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { erasureConfirmed } from "./privacy";
import { eraseForm, liftForm, restrictForm } from "./privacy-form";

const id = "6f1c1c2e-0b7a-4d8e-9a51-3f0c2d9e8b11";
const reasons = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ minLength: 495, maxLength: 505 }),
  fc.constantFrom("", "  ab ", "abc", "Tjenestemottakeren ba om sletting"),
);

describe("the privacy forms", () => {
  it("restrict with exactly the reasons the API takes (trimmed), refusing on the reason field", () => {
    fc.assert(
      fc.property(reasons, (reason) => {
        const r = restrictForm.safeParse({ reason });
        const api = privacyReason.safeParse({ reason });
        expect(r.success).toBe(api.success);
        if (r.success) expect(r.data).toEqual({ reason: reason.trim() });
        else expect(r.error.issues.map((i) => i.path)).toEqual([["reason"]]);
      }),
    );
  });

  it("lift a restriction with exactly the reasons the API's query takes (trimmed), refusing on the reason field", () => {
    fc.assert(
      fc.property(reasons, (reason) => {
        const r = liftForm.safeParse({ reason });
        const api = reasonRequiredQuery.safeParse({ reason });
        expect(r.success).toBe(api.success);
        if (r.success) expect(r.data).toEqual({ reason: reason.trim() });
        else expect(r.error.issues.map((i) => i.path)).toEqual([["reason"]]);
      }),
    );
  });

  it("erase only with such a reason and the full name typed, each refusal on its own field", () => {
    const typed = fc.constantFrom("", "Embla", "Embla Eriksen", "  Embla   Eriksen ", "embla eriksen");
    fc.assert(
      fc.property(reasons, typed, (reason, name) => {
        const r = eraseForm("Embla Eriksen", id).safeParse({ reason, typed: name });
        const reasonOk = privacyReason.safeParse({ reason }).success;
        const nameOk = erasureConfirmed(name, "Embla Eriksen", id);
        expect(r.success).toBe(reasonOk && nameOk);
        if (r.success) return;
        const fields = r.error.issues.map((i) => i.path[0]);
        expect(fields.includes("reason")).toBe(!reasonOk);
        expect(fields.includes("typed")).toBe(!nameOk);
      }),
    );
    expect(eraseForm("", id).safeParse({ reason: "abc", typed: id }).success).toBe(true);
  });
});
