/**
 * The activity log's filters as the administrator fills them (a user from the list, an action,
 * a from and a to in the browser's local time), turned into the query and checked by the shared
 * query schema, plus that the period does not end before it starts.
 */
import { activityQuery } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

/** A local date and time (datetime-local) as an instant; what is not one is passed on to be refused. */
function toIso(local: string): string | undefined {
  if (local.trim() === "") return undefined;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? local : at.toISOString();
}

export const activityFilterForm = z
  .object({ userId: z.string(), action: z.string(), from: z.string(), to: z.string() })
  .transform((f, ctx) => {
    const r = activityQuery.safeParse({
      userId: f.userId || undefined,
      action: f.action.trim() || undefined,
      from: toIso(f.from),
      to: toIso(f.to),
    });
    if (!r.success) {
      for (const issue of r.error.issues)
        ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
      return z.NEVER;
    }
    const { from, to } = r.data;
    if (from && to && Date.parse(to) < Date.parse(from)) {
      ctx.addIssue({ code: "custom", message: "ends before it starts", path: ["to"] });
      return z.NEVER;
    }
    // The page size is the screen's, not the filter's.
    const { limit: _limit, beforeSeq: _beforeSeq, ...filters } = r.data;
    return filters;
  });

export type ActivityFilterInput = z.input<typeof activityFilterForm>;
export type ActivityFilters = z.output<typeof activityFilterForm>;

export const noFilters = (): ActivityFilterInput => ({ userId: "", action: "", from: "", to: "" });

/** What to say under a field refused, in the console's words (never zod's English). */
export function activityFieldError(field: keyof ActivityFilterInput, value: ActivityFilterInput): MessageKey {
  if (field === "userId") return "activity.error.user";
  if (field === "action") return "activity.error.action";
  if (field === "to" && toIso(value.to) !== value.to) return "activity.error.order";
  return "activity.error.when";
}
