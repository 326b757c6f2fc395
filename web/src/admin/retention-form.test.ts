import { type RetentionSettings, retentionSettings } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries, interpolate } from "../i18n/dict";
import {
  RETENTION_FIELDS,
  type RetentionFormInput,
  retentionFieldError,
  retentionForm,
  retentionRange,
  retentionToForm,
} from "./retention-form";

const ceilings = { positions: 400, device_status: 30, device_messages: 120 };
const stored: RetentionSettings = {
  positionsDays: 90,
  deviceStatusDays: 30,
  deviceMessagesDays: 14,
  deadLettersDays: 30,
  alarmsDays: 1825,
  activityLogDays: 1825,
};
const typed = fc.oneof(
  fc.integer({ min: -10, max: 4000 }).map(String),
  fc.constantFrom("", " ", "1.5", "abc", "1e3", "0", "365", "3653", "3654"),
  fc.string({ maxLength: 6 }),
);
const inputs: fc.Arbitrary<RetentionFormInput> = fc.record(
  Object.fromEntries(RETENTION_FIELDS.map((k) => [k, typed])) as Record<
    keyof RetentionSettings,
    typeof typed
  >,
);

describe("the retention settings form", () => {
  it("accepts what the schema and the ceilings allow, saying each refused field's range in words", () => {
    const form = retentionForm(ceilings);
    fc.assert(
      fc.property(inputs, (input) => {
        const r = form.safeParse(input);
        const numbers = Object.fromEntries(
          RETENTION_FIELDS.map((k) => [k, input[k].trim() === "" ? Number.NaN : Number(input[k])]),
        );
        const schema = retentionSettings.safeParse(numbers);
        const underCeilings = RETENTION_FIELDS.every((k) => {
          const { max } = retentionRange(k, ceilings);
          return max === null || (numbers[k] ?? 0) <= max;
        });
        expect(r.success).toBe(schema.success && underCeilings);
        if (r.success) return;
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof RetentionSettings;
          expect(RETENTION_FIELDS).toContain(field);
          const { key, vars } = retentionFieldError(field, ceilings);
          for (const lang of ["en", "nb"] as const)
            expect(interpolate(dictionaries[lang][key], vars)).not.toMatch(/[{}]|undefined/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("takes the lower of the schema's limit and the table's ceiling, and has no ceiling it does not know", () => {
    expect(retentionRange("deviceStatusDays", ceilings)).toEqual({ min: 1, max: 30 });
    expect(retentionRange("deviceMessagesDays", ceilings)).toEqual({ min: 1, max: 90 });
    expect(retentionRange("positionsDays", ceilings)).toEqual({ min: 1, max: 400 });
    expect(retentionRange("positionsDays", {})).toEqual({ min: 1, max: null });
    expect(retentionRange("activityLogDays", {})).toEqual({ min: 730, max: 3653 });
    expect(retentionFieldError("positionsDays", {})).toEqual({
      key: "retention.error.atLeast",
      vars: { min: 1 },
    });
  });

  it("fills the form from the stored settings and sends them back as numbers", () => {
    expect(retentionForm(ceilings).parse(retentionToForm(stored))).toEqual(stored);
    const over = { ...retentionToForm(stored), positionsDays: "401" };
    expect(
      retentionForm(ceilings)
        .safeParse(over)
        .error?.issues.map((i) => i.path[0]),
    ).toEqual(["positionsDays"]);
  });
});
