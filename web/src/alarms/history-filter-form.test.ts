import { alarmListQuery } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  allClosed,
  type HistoryFilterInput,
  historyFieldError,
  historyFilterForm,
  noHistoryFilters,
} from "./history-filter-form";

const day = fc
  .date({ min: new Date("2020-01-01"), max: new Date("2030-12-31"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const inputs: fc.Arbitrary<HistoryFilterInput> = fc.record({
  departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "not-a-department")),
  type: fc.constantFrom("", "sos", "fall", "geofence_exit", "no-such-type"),
  outcome: fc.constantFrom("", "false_alarm", "helped_on_site", "no-such-outcome"),
  recipientId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("")),
  from: fc.oneof(day, fc.constantFrom("", "i går", "2026-13-01")),
  to: fc.oneof(day, fc.constantFrom("", "snart")),
});

describe("the alarm history's filters", () => {
  it("give a closed-alarm query the shared schema accepts, or refuse a field saying why in words", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = historyFilterForm.safeParse(input);
        if (r.success) {
          expect(alarmListQuery.safeParse(r.data).success).toBe(true);
          expect(r.data.state).toEqual(["resolved", "cancelled"]);
          expect(r.data.departmentId).toBe(input.departmentId || undefined);
          expect(r.data.from === undefined).toBe(input.from === "");
          if (r.data.from && r.data.to)
            expect(Date.parse(r.data.from)).toBeLessThanOrEqual(Date.parse(r.data.to));
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof HistoryFilterInput;
          expect(Object.keys(input)).toContain(field);
          const key = historyFieldError(field, input);
          expect(dictionaries.en[key]).toBeTruthy();
          expect(dictionaries.nb[key]).toBeTruthy();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("shows every closed alarm when empty, takes one day as a period, and refuses a from after the to on the to", () => {
    expect(allClosed()).toEqual({ state: ["resolved", "cancelled"] });
    const oneDay = historyFilterForm.parse({ ...noHistoryFilters(), from: "2026-12-03", to: "2026-12-03" });
    expect(Date.parse(oneDay.to ?? "") - Date.parse(oneDay.from ?? "")).toBe(86_400_000 - 1);
    const backwards = { ...noHistoryFilters(), from: "2026-12-03", to: "2026-12-02" };
    expect(historyFilterForm.safeParse(backwards).error?.issues.map((i) => i.path[0])).toEqual(["to"]);
    expect(historyFieldError("to", backwards)).toBe("history.error.order");
    expect(historyFieldError("to", { ...backwards, to: "snart" })).toBe("history.error.when");
  });
});
