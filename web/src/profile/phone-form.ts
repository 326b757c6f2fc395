/**
 * The user's own phone number as the profile form holds it (a string; empty: no SMS) checked by the
 * shared profile update schema, so the form refuses exactly what the API would and sends the number
 * as E.164, or null for none.
 */
import { profileUpdate } from "@vakt/schemas";
import { z } from "zod";

export const phoneForm = z.object({ phone: z.string() }).transform((f, ctx) => {
  const r = profileUpdate.safeParse({ phone: f.phone.trim() ? f.phone : null });
  if (r.success) return { phone: r.data.phone ?? null };
  for (const issue of r.error.issues)
    ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
  return z.NEVER;
});
export type PhoneFormInput = z.input<typeof phoneForm>;
export type PhoneChange = z.output<typeof phoneForm>;
