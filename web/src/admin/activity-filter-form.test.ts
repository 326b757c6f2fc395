import { activityQuery } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  type ActivityFilterInput,
  activityFieldError,
  activityFilterForm,
  noFilters,
} from "./activity-filter-form";

const local = fc
  .date({ min: new Date("2020-01-01"), max: new Date("2030-12-31"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 16));
const inputs: fc.Arbitrary<ActivityFilterInput> = fc.record({
  userId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "not-a-user")),
  action: fc.oneof(fc.string({ maxLength: 110 }), fc.constantFrom("", "  ", "alarm.taken")),
  from: fc.oneof(local, fc.constantFrom("", "i går", "2026-13-01T00:00")),
  to: fc.oneof(local, fc.constantFrom("", "snart")),
});

describe("the activity log's filters", () => {
  it("give a query the shared schema accepts, or refuse a field saying why in words", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = activityFilterForm.safeParse(input);
        if (r.success) {
          expect(activityQuery.safeParse(r.data).success).toBe(true);
          expect(r.data.userId).toBe(input.userId || undefined);
          expect(r.data.action).toBe(input.action.trim() || undefined);
          expect(r.data.from === undefined).toBe(input.from === "");
          if (r.data.from && r.data.to)
            expect(Date.parse(r.data.from)).toBeLessThanOrEqual(Date.parse(r.data.to));
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof ActivityFilterInput;
          expect(Object.keys(input)).toContain(field);
          expect(activityFieldError(field, input) in dictionaries.nb).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("apply nothing when empty, and refuse a period that ends before it starts on its end", () => {
    expect(activityFilterForm.parse(noFilters())).toEqual({});
    const backwards = { ...noFilters(), from: "2026-12-03T10:00", to: "2026-12-02T10:00" };
    expect(activityFilterForm.safeParse(backwards).error?.issues.map((i) => i.path[0])).toEqual(["to"]);
    expect(activityFieldError("to", backwards)).toBe("activity.error.order");
    expect(activityFieldError("to", { ...backwards, to: "snart" })).toBe("activity.error.when");
  });
});
