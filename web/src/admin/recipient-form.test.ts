import { recipientCreate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  emptyRecipientForm,
  LEGAL_BASES,
  type RecipientFormInput,
  recipientFieldError,
  recipientForm,
} from "./recipient-form";

const name = fc.oneof(fc.string({ maxLength: 110 }), fc.constantFrom("", "  ", "Reidun", " Åse "));
const inputs: fc.Arbitrary<RecipientFormInput> = fc.record({
  firstName: name,
  lastName: name,
  departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "not-a-uuid")),
  legalBasis: fc.constantFrom(...LEGAL_BASES),
  responderNotes: fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.constantFrom("", "  ", "Nøkkel i nøkkelboks"),
    fc.string({ minLength: 3990, maxLength: 4010 }),
  ),
});

describe("the recipient registration form", () => {
  it("accepts exactly what the API's create schema accepts, with every refusal on a field in words", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = recipientForm.safeParse(input);
        const notes = input.responderNotes.trim();
        const api = recipientCreate.safeParse({
          ...input,
          responderNotes: notes || undefined,
          legalBasisReference: null,
        });
        expect(r.success).toBe(api.success);
        if (r.success) {
          expect(r.data).toEqual(api.data);
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof RecipientFormInput;
          expect(Object.keys(input)).toContain(field);
          expect(recipientFieldError(field) in dictionaries.nb).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("sends trimmed names and leaves empty notes out", () => {
    const dept = "5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10";
    const body = recipientForm.parse({ ...emptyRecipientForm(dept), firstName: " Åse ", lastName: "Berg" });
    expect(body).toEqual({
      firstName: "Åse",
      lastName: "Berg",
      departmentId: dept,
      legalBasis: "consent",
      legalBasisReference: null,
    });
    const refused = recipientForm.safeParse(emptyRecipientForm());
    expect(refused.error?.issues.map((i) => i.path[0]).sort()).toEqual([
      "departmentId",
      "firstName",
      "lastName",
    ]);
  });
});
