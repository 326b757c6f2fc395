/**
 * The new-department form: a name and a parent ("" for the top level), checked by the shared create
 * schema, so the form refuses exactly what the API would.
 */
import { departmentCreate } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const departmentForm = z
  .object({
    name: z.string(),
    /** "" for the top level. */
    parentId: z.string(),
  })
  .transform((f, ctx) => {
    const r = departmentCreate.safeParse({ name: f.name, parentId: f.parentId || null });
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type DepartmentFormInput = z.input<typeof departmentForm>;
export type DepartmentCreateBody = z.output<typeof departmentForm>;

export const emptyDepartmentForm = (parentId = ""): DepartmentFormInput => ({ name: "", parentId });

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function departmentFieldError(field: keyof DepartmentFormInput): MessageKey {
  return field === "name" ? "dept.error.name" : "dept.error.parent";
}
