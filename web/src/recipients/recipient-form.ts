/**
 * The recipient's details as the edit form holds them (every field a string, "" for none) turned
 * into the update body and then checked by the shared schema itself, so the form refuses exactly
 * what the API would.
 */
import { legalBasis, type Recipient, recipientUpdate } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const recipientForm = z
  .object({
    firstName: z.string(),
    lastName: z.string(),
    birthDate: z.string(),
    responderNotes: z.string(),
    legalBasis,
    legalBasisReference: z.string(),
    legalBasisDate: z.string(),
    status: z.enum(["active", "ended"]),
    serviceEndedOn: z.string(),
  })
  .transform((f, ctx) => {
    const body = {
      firstName: f.firstName,
      lastName: f.lastName,
      birthDate: f.birthDate || null,
      responderNotes: f.responderNotes,
      legalBasis: f.legalBasis,
      legalBasisReference: f.legalBasisReference.trim() || null,
      legalBasisDate: f.legalBasisDate || null,
      status: f.status,
      // An active service has not ended: a date left in the field from before does not count.
      serviceEndedOn: f.status === "ended" ? f.serviceEndedOn || null : null,
    };
    // The shared schema decides; its issues land on the form's fields of the same names.
    const r = recipientUpdate.safeParse(body);
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type RecipientFormInput = z.input<typeof recipientForm>;
export type RecipientUpdateBody = z.output<typeof recipientForm>;

/** The form filled with the recipient as read. */
export function recipientFormOf(r: Recipient): RecipientFormInput {
  return {
    firstName: r.firstName ?? "",
    lastName: r.lastName ?? "",
    birthDate: r.birthDate ?? "",
    responderNotes: r.responderNotes ?? "",
    legalBasis: r.legalBasis,
    legalBasisReference: r.legalBasisReference ?? "",
    legalBasisDate: r.legalBasisDate ?? "",
    status: r.status,
    serviceEndedOn: r.serviceEndedOn ?? "",
  };
}

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function recipientFieldError(field: keyof RecipientFormInput): MessageKey {
  switch (field) {
    case "firstName":
      return "recipient.error.firstName";
    case "lastName":
      return "recipient.error.lastName";
    case "responderNotes":
      return "recipient.error.responderNotes";
    case "legalBasisReference":
      return "recipient.error.legalBasisReference";
    default:
      return "recipient.error.date";
  }
}
