import { type Recipient, recipientUpdate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  type RecipientFormInput,
  recipientFieldError,
  recipientForm,
  recipientFormOf,
} from "./recipient-form";

const day = fc
  .date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const recipientArb: fc.Arbitrary<Recipient> = fc.record({
  id: fc.uuid(),
  departmentId: fc.uuid(),
  firstName: fc.option(fc.string({ minLength: 1, maxLength: 100 }).filter((s) => s.trim().length > 0)),
  lastName: fc.option(fc.string({ minLength: 1, maxLength: 100 }).filter((s) => s.trim().length > 0)),
  birthDate: fc.option(day),
  responderNotes: fc.option(fc.string({ maxLength: 4000 })),
  legalBasis: fc.constantFrom("consent", "formal_decision", "other"),
  legalBasisReference: fc.option(
    fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() === s && s !== ""),
  ),
  legalBasisDate: fc.option(day),
  status: fc.constantFrom("active", "ended"),
  serviceEndedOn: fc.option(day),
});

describe("the recipient edit form", () => {
  it("saves a recipient's own details unchanged when nothing was edited (names given)", () => {
    fc.assert(
      fc.property(recipientArb, (r) => {
        fc.pre(r.firstName !== null && r.lastName !== null);
        const out = recipientForm.safeParse(recipientFormOf(r));
        expect(out.success).toBe(true);
        if (!out.success) return;
        expect(out.data.firstName).toBe(r.firstName?.trim());
        expect(out.data.birthDate).toBe(r.birthDate);
        expect(out.data.legalBasisReference).toBe(r.legalBasisReference);
        expect(out.data.serviceEndedOn).toBe(r.status === "ended" ? r.serviceEndedOn : null);
      }),
    );
  });

  it("refuses what the API refuses, on the field it is about, with a text in both languages", () => {
    const field = fc.constantFrom<keyof RecipientFormInput>(
      "firstName",
      "lastName",
      "responderNotes",
      "legalBasisReference",
      "birthDate",
      "legalBasisDate",
    );
    const junk = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ minLength: 4001, maxLength: 4100 }),
      fc.constant("  "),
    );
    fc.assert(
      fc.property(recipientArb, field, junk, (r, f, value) => {
        const form = { ...recipientFormOf(r), firstName: "Kari", lastName: "Berg", [f]: value };
        const out = recipientForm.safeParse(form);
        const body = out.success ? out.data : null;
        // The shared schema alone on the same values must agree.
        const direct = recipientUpdate.safeParse({
          ...(body ?? {}),
          [f]:
            f === "legalBasisReference" ? value.trim() || null : f.endsWith("Date") ? value || null : value,
        });
        expect(out.success).toBe(direct.success);
        if (!out.success) {
          expect(out.error.issues.map((i) => i.path[0])).toContain(f);
          const key = recipientFieldError(f);
          expect(dictionaries.en[key]).toBeTruthy();
          expect(dictionaries.nb[key]).toBeTruthy();
        }
      }),
    );
  });
});
