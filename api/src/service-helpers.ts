import { ApiError } from "./errors";

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
export const isoRequired = (d: Date): string => d.toISOString();

/** A row the caller may not see is reported exactly like a row that does not exist. */
export function found<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new ApiError("not_found", `No such ${what}, or not one you may see.`);
  return row;
}

export function inAllowed(allowed: readonly string[], departmentId: string, what = "department"): void {
  if (!allowed.includes(departmentId))
    throw new ApiError("not_found", `No such ${what}, or not one you may change.`);
}

/**
 * Before/after of a change for the activity log. The log never holds names or
 * other personal values (erasure must not break the hash chain), so personal
 * fields are recorded as changed without their values.
 */
export function changeSet(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  personal: readonly string[] = [],
): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  for (const key of Object.keys(after)) {
    const a = after[key];
    const b = before[key];
    if (a === undefined || JSON.stringify(a) === JSON.stringify(b)) continue;
    out[key] = personal.includes(key)
      ? { before: "(personal)", after: "(personal)" }
      : { before: b ?? null, after: a };
  }
  return out;
}
