/**
 * The retention settings form: days per kind of data as typed, checked by the shared schema's
 * legal floors and ceilings and by the database's own ceilings (which the API checks too, from the
 * same view), so the form refuses what the API would and says the range that is allowed.
 */
import { type RetentionSettings, retentionSettings } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const RETENTION_FIELDS = Object.keys(retentionSettings.shape) as (keyof RetentionSettings)[];

/** Which time-series table bounds which setting from above, as the API has it. */
const CEILING_OF: Partial<Record<keyof RetentionSettings, string>> = {
  positionsDays: "positions",
  deviceStatusDays: "device_status",
  deviceMessagesDays: "device_messages",
};

export type RetentionFormInput = Record<keyof RetentionSettings, string>;

/** The days a setting may be: the schema's range, lowered to its table's ceiling. */
export function retentionRange(
  field: keyof RetentionSettings,
  ceilings: Record<string, number>,
): { min: number; max: number | null } {
  const shape = retentionSettings.shape[field];
  const min = shape.minValue ?? 1;
  const schemaMax =
    shape.maxValue !== null && shape.maxValue < Number.MAX_SAFE_INTEGER ? shape.maxValue : null;
  const table = CEILING_OF[field];
  const ceiling = table === undefined ? undefined : ceilings[table];
  if (ceiling === undefined) return { min, max: schemaMax };
  return { min, max: schemaMax === null ? ceiling : Math.min(schemaMax, ceiling) };
}

/** A number as typed: "" and anything else that is not one are not a number of days. */
const days = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));

export function retentionForm(ceilings: Record<string, number>) {
  return z.record(z.enum(RETENTION_FIELDS), z.string()).transform((f, ctx) => {
    const numbers = Object.fromEntries(RETENTION_FIELDS.map((k) => [k, days(f[k] ?? "")]));
    const r = retentionSettings.safeParse(numbers);
    if (!r.success)
      for (const issue of r.error.issues)
        ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    for (const k of RETENTION_FIELDS) {
      const { max } = retentionRange(k, ceilings);
      const v = numbers[k];
      if (v !== undefined && max !== null && v > max)
        ctx.addIssue({ code: "custom", message: `at most ${max}`, path: [k] });
    }
    return r.success ? r.data : z.NEVER;
  });
}

export const retentionToForm = (s: RetentionSettings): RetentionFormInput =>
  Object.fromEntries(RETENTION_FIELDS.map((k) => [k, String(s[k])])) as RetentionFormInput;

/** What to say under a field refused: the range allowed, in the console's words. */
export function retentionFieldError(
  field: keyof RetentionSettings,
  ceilings: Record<string, number>,
): { key: MessageKey; vars: { min: number; max?: number } } {
  const { min, max } = retentionRange(field, ceilings);
  if (max === null) return { key: "retention.error.atLeast", vars: { min } };
  return { key: "retention.error.range", vars: { min, max } };
}
