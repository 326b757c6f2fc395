/**
 * The registration form: a recipient's names, department, the legal basis for tracking them and
 * notes for responders, checked by the shared create schema, so the form refuses exactly what the
 * API would. Notes left empty are not sent.
 */
import { legalBasis, recipientCreate } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const LEGAL_BASES = legalBasis.options;

export const recipientForm = z
  .object({
    firstName: z.string(),
    lastName: z.string(),
    departmentId: z.string(),
    legalBasis,
    responderNotes: z.string(),
  })
  .transform((f, ctx) => {
    const notes = f.responderNotes.trim();
    const r = recipientCreate.safeParse({
      ...f,
      responderNotes: notes || undefined,
      legalBasisReference: null,
    });
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type RecipientFormInput = z.input<typeof recipientForm>;
export type RecipientCreateBody = z.output<typeof recipientForm>;

export const emptyRecipientForm = (departmentId = ""): RecipientFormInput => ({
  firstName: "",
  lastName: "",
  departmentId,
  legalBasis: "consent",
  responderNotes: "",
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function recipientFieldError(field: keyof RecipientFormInput): MessageKey {
  if (field === "firstName") return "recipients.error.firstName";
  if (field === "lastName") return "recipients.error.lastName";
  if (field === "departmentId") return "recipients.error.department";
  if (field === "legalBasis") return "recipients.error.legalBasis";
  return "recipients.error.responderNotes";
}
