import { type RecipientContact, recipientContactCreate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  type ContactFormInput,
  contactFieldError,
  contactForm,
  contactToForm,
  emptyContactForm,
} from "./contact-form";

const text = (max: number) =>
  fc.oneof(fc.string({ maxLength: max + 10 }), fc.constantFrom("", "  ", "Siri Ringeliste"));
const inputs: fc.Arbitrary<ContactFormInput> = fc.record({
  name: text(200),
  relation: fc.constantFrom("next_of_kin", "neighbour", "own_phone", "doctor", "other"),
  phone: fc.oneof(
    fc.constantFrom("912 34 567", "+47 913 45 678", "+4741234567", "12", "not a number", "", " 412 34 567 "),
    fc.string({ maxLength: 40 }),
  ),
  notes: fc.oneof(text(2000), fc.string({ minLength: 1995, maxLength: 2010 })),
  availability: text(200),
});

describe("the call-list contact form", () => {
  it("refuses exactly what the API refuses, on the field it is about, in both languages", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = contactForm.safeParse(input);
        expect(r.success).toBe(recipientContactCreate.safeParse(input).success);
        if (r.success) return;
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof ContactFormInput;
          expect(Object.keys(input)).toContain(field);
          const key = contactFieldError(field);
          expect(dictionaries.en[key]).toBeTruthy();
          expect(dictionaries.nb[key]).toBeTruthy();
        }
      }),
    );
  });

  it("sends a national number as E.164 and refuses an empty form on name and phone", () => {
    const r = contactForm.parse({ ...emptyContactForm, name: " Nils Nabo ", phone: "412 34 567" });
    expect(r).toMatchObject({ name: "Nils Nabo", phone: "+4741234567", relation: "next_of_kin" });
    const empty = contactForm.safeParse(emptyContactForm);
    expect(empty.success).toBe(false);
    expect(empty.error?.issues.map((i) => i.path[0]).sort()).toEqual(["name", "phone"]);
  });

  it("fills the form from a stored contact, which saves unchanged", () => {
    const stored: RecipientContact = {
      id: "0b7c5a44-7f0e-4d7b-9d7e-2f9d6f1c8a11",
      recipientId: "5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10",
      position: 1,
      name: "Siri Ringeliste",
      relation: "next_of_kin",
      phone: "+4791345678",
      notes: "Datter, har nøkkel",
      availability: "07-23",
    };
    expect(contactForm.parse(contactToForm(stored))).toEqual({
      name: stored.name,
      relation: stored.relation,
      phone: stored.phone,
      notes: stored.notes,
      availability: stored.availability,
    });
  });
});
