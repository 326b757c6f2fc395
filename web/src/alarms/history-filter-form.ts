/**
 * The alarm history's filters as the operator sets them (a department, a type, an outcome, a
 * recipient, a from and a to date in the browser's local time), turned into the list query and
 * checked by the shared query schema, plus that the period does not end before it starts (as the
 * activity log's filters). Only closed alarms are asked for.
 */
import { type AlarmListQuery, alarmListQuery } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

/** A local date (type="date") from its first or to its last instant; what is not one is passed on to be refused. */
function dayEdge(day: string, edge: "start" | "end"): string | undefined {
  if (day.trim() === "") return undefined;
  const at = new Date(`${day}T${edge === "start" ? "00:00:00" : "23:59:59.999"}`);
  return Number.isNaN(at.getTime()) ? day : at.toISOString();
}

export const historyFilterForm = z
  .object({
    departmentId: z.string(),
    type: z.string(),
    outcome: z.string(),
    recipientId: z.string(),
    from: z.string(),
    to: z.string(),
  })
  .transform((f, ctx) => {
    const r = alarmListQuery.safeParse({
      state: ["resolved", "cancelled"],
      departmentId: f.departmentId || undefined,
      type: f.type ? [f.type] : undefined,
      outcome: f.outcome ? [f.outcome] : undefined,
      recipientId: f.recipientId || undefined,
      from: dayEdge(f.from, "start"),
      to: dayEdge(f.to, "end"),
    });
    if (!r.success) {
      for (const issue of r.error.issues)
        ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.slice(0, 1).map(String) });
      return z.NEVER;
    }
    const { from, to } = r.data;
    if (from && to && Date.parse(to) < Date.parse(from)) {
      ctx.addIssue({ code: "custom", message: "ends before it starts", path: ["to"] });
      return z.NEVER;
    }
    // The page size and the cursor are the screen's, not the filter's.
    const { limit: _limit, cursor: _cursor, ...filters } = r.data;
    return filters satisfies Omit<AlarmListQuery, "limit" | "cursor">;
  });

export type HistoryFilterInput = z.input<typeof historyFilterForm>;
export type HistoryFilters = z.output<typeof historyFilterForm>;

export const noHistoryFilters = (): HistoryFilterInput => ({
  departmentId: "",
  type: "",
  outcome: "",
  recipientId: "",
  from: "",
  to: "",
});

/** The closed alarms of no filter at all: what the screen shows first. */
export const allClosed = (): HistoryFilters => historyFilterForm.parse(noHistoryFilters());

/** What to say under a field refused, in the console's words (never zod's English). */
export function historyFieldError(field: keyof HistoryFilterInput, value: HistoryFilterInput): MessageKey {
  if (field === "from") return "history.error.when";
  if (field === "to")
    return dayEdge(value.to, "end") !== value.to ? "history.error.order" : "history.error.when";
  return "history.error.choice";
}
