/**
 * A call-list contact as its form holds it (every field a string) checked by the shared create
 * schema itself, so the form refuses exactly what the API would and sends the number as E.164.
 * A change sends the same body: every field of a contact may change.
 */
import { contactRelation, type RecipientContact, recipientContactCreate } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const contactForm = z
  .object({
    name: z.string(),
    relation: contactRelation,
    phone: z.string(),
    notes: z.string(),
    availability: z.string(),
  })
  .transform((f, ctx) => {
    // The shared schema decides; its issues land on the form's fields of the same names.
    const r = recipientContactCreate.safeParse(f);
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type ContactFormInput = z.input<typeof contactForm>;
export type ContactBody = z.output<typeof contactForm>;

export const emptyContactForm: ContactFormInput = {
  name: "",
  relation: "next_of_kin",
  phone: "",
  notes: "",
  availability: "",
};

/** The form filled with a contact as read, to change it. */
export const contactToForm = (c: RecipientContact): ContactFormInput => ({
  name: c.name,
  relation: c.relation,
  phone: c.phone,
  notes: c.notes,
  availability: c.availability,
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function contactFieldError(field: keyof ContactFormInput): MessageKey {
  switch (field) {
    case "name":
      return "contacts.error.name";
    case "phone":
      return "contacts.error.phone";
    case "notes":
      return "contacts.error.notes";
    case "availability":
      return "contacts.error.availability";
    default:
      return "contacts.error.relation";
  }
}
