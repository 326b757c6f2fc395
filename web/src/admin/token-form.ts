/**
 * The API token form as the administrator fills it (a "whole organisation" box instead of a null
 * list, an expiry day instead of an instant), turned into the create body and then checked by the
 * shared schema itself, so the form refuses exactly what the API would.
 */
import { apiTokenCreate, type TokenPermission, tokenPermission } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const TOKEN_PERMISSIONS: readonly TokenPermission[] = tokenPermission.options;

export const tokenForm = z
  .object({
    name: z.string(),
    permissions: z.array(tokenPermission),
    wholeOrganisation: z.boolean(),
    departmentIds: z.array(z.string()),
    pseudonymous: z.boolean(),
    /** "" for no expiry, else a day (YYYY-MM-DD): the token works through the end of it. */
    expiresAt: z.union([z.literal(""), z.iso.date()]),
  })
  .transform((f, ctx) => {
    const body = {
      name: f.name,
      permissions: f.permissions,
      departmentIds: f.wholeOrganisation ? null : f.departmentIds,
      pseudonymous: f.pseudonymous,
      expiresAt: f.expiresAt ? endOfDay(f.expiresAt) : null,
    };
    // The shared schema decides; its issues land on the form's fields of the same names.
    const r = apiTokenCreate.safeParse(body);
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type TokenFormInput = z.input<typeof tokenForm>;
export type TokenCreateBody = z.output<typeof tokenForm>;

/** The last moment of a day in the browser's zone, as an instant. */
function endOfDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y ?? 0, (m ?? 1) - 1, d ?? 1, 23, 59, 59, 999).toISOString();
}

export const emptyTokenForm = (): TokenFormInput => ({
  name: "",
  permissions: [],
  wholeOrganisation: true,
  departmentIds: [],
  pseudonymous: true,
  expiresAt: "",
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function tokenFieldError(field: keyof TokenFormInput, value: TokenFormInput): MessageKey {
  if (field === "name") return "tokens.error.name";
  if (field === "permissions")
    return value.pseudonymous && value.permissions.includes("device:locate")
      ? "tokens.error.locatePseudonymous"
      : "tokens.error.permissions";
  if (field === "departmentIds") return "tokens.error.departments";
  return "tokens.error.expiresAt";
}

/** A token's state as a word: revoked, expired or in use. */
export function tokenState(
  t: { revokedAt: string | null; expiresAt: string | null },
  now: number,
): "revoked" | "expired" | "active" {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return "expired";
  return "active";
}
