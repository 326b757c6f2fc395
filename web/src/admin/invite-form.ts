/**
 * The invitation form: a staff user with one grant (a role in a department, or "" for the whole
 * organisation), turned into the create body and checked by the shared schema itself, so the form
 * refuses exactly what the API would; the grant's issues land on the role and department fields.
 */
import { roleKey, staffUserCreate } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const inviteForm = z
  .object({
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    role: roleKey,
    /** "" for the whole organisation. */
    departmentId: z.string(),
  })
  .transform((f, ctx) => {
    const r = staffUserCreate.safeParse({
      email: f.email,
      firstName: f.firstName,
      lastName: f.lastName,
      grants: [{ role: f.role, departmentId: f.departmentId || null }],
    });
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: inviteField(issue.path) });
    return z.NEVER;
  });

export type InviteFormInput = z.input<typeof inviteForm>;
export type InviteBody = z.output<typeof inviteForm>;

/** The form field an issue of the create body is about (`grants.0.role` is the role field). */
function inviteField(path: readonly PropertyKey[]): string[] {
  if (path[0] !== "grants") return path.map(String);
  return [path[2] === "role" ? "role" : "departmentId"];
}

export const emptyInviteForm = (): InviteFormInput => ({
  email: "",
  firstName: "",
  lastName: "",
  role: "operator",
  departmentId: "",
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function inviteFieldError(field: keyof InviteFormInput): MessageKey {
  if (field === "email") return "users.error.email";
  if (field === "firstName") return "users.error.firstName";
  if (field === "lastName") return "users.error.lastName";
  if (field === "role") return "users.error.role";
  return "users.error.department";
}
