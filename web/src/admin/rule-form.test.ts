import { type AlertRule, alarmSeverity, alarmType, alertRule, alertRuleCreate } from "@vakt/schemas";
import { arbitraryOf, type JsonSchema } from "@vakt/schemas/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import "../i18n/dict-admin";
import { dictionaries } from "../i18n/dict";
import {
  emptyRuleForm,
  newStep,
  type RuleFormInput,
  ruleFieldError,
  ruleForm,
  ruleToForm,
  STEP_CHANNELS,
  toggled,
  updateBody,
  WEEKDAYS,
} from "./rule-form";

/** Rules as the API stores them: any valid create body (the schema's own generator), given an id. */
function storedRules(): fc.Arbitrary<AlertRule> {
  const json = z.toJSONSchema(alertRuleCreate, { io: "output", unrepresentable: "any" }) as JsonSchema;
  const defs = json.$defs ?? {};
  return arbitraryOf(json, (ref) => defs[ref.replace(/^#\/\$defs\//, "")])
    .map((body) => alertRuleCreate.safeParse(body))
    .filter((r) => r.success)
    .chain((r) => fc.uuid({ version: 4 }).map((id) => alertRule.parse({ ...r.data, id })));
}

const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("", " ", "30", "600", "601", "-1", "1.5", "x"),
);
const formInputs: fc.Arbitrary<RuleFormInput> = fc.record({
  name: fc.oneof(fc.string({ maxLength: 210 }), fc.constantFrom("", "  ", "Natt Sone 1")),
  departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "sone-1")),
  alarmTypes: fc.uniqueArray(fc.constantFrom(...alarmType.options)),
  severities: fc.uniqueArray(fc.constantFrom(...alarmSeverity.options)),
  scheduled: fc.boolean(),
  schedule: fc.array(
    fc.record({
      days: fc.uniqueArray(fc.integer({ min: 0, max: 8 }), { maxLength: 8 }),
      start: fc.constantFrom("22:00", "07:30", "24:00", "25:00", ""),
      end: fc.constantFrom("07:00", "00:00", "9:00", ""),
    }),
    { maxLength: 3 },
  ),
  steps: fc.array(
    fc.record({
      waitS: fc.oneof(fc.integer({ min: -5, max: 90_000 }), fc.constant(Number.NaN), fc.constant(1.5)),
      users: fc.uniqueArray(fc.uuid({ version: 4 }), { maxLength: 2 }),
      roles: fc.uniqueArray(fc.constantFrom("operator" as const, "org_admin" as const)),
      channels: fc.uniqueArray(fc.constantFrom(...STEP_CHANNELS)),
      endpointIds: fc.uniqueArray(fc.uuid({ version: 4 }), { maxLength: 2 }),
    }),
    { maxLength: 11 },
  ),
  cancelWindowS: text,
  reminderIntervalS: text,
  maxReminders: text,
  enabled: fc.boolean(),
});

describe("the routing rule form", () => {
  it("round-trips any stored rule: editing it unchanged sends what the API holds", () => {
    fc.assert(
      fc.property(storedRules(), (rule) => {
        const { id: _, ...stored } = rule;
        const body = ruleForm.parse(ruleToForm(rule));
        expect(body).toEqual(alertRuleCreate.parse(stored));
        // The change keeps the department and sends every other field, steps included.
        const update = updateBody(body);
        expect(update).not.toHaveProperty("departmentId");
        expect(update.steps).toEqual(rule.steps);
        expect(update.schedule).toEqual(rule.schedule);
      }),
      { numRuns: 200 },
    );
  });

  it("accepts exactly what the API's create schema accepts, and words every refusal", () => {
    fc.assert(
      fc.property(formInputs, (input) => {
        const r = ruleForm.safeParse(input);
        if (r.success) {
          expect(alertRuleCreate.safeParse(r.data).success).toBe(true);
          expect(r.data.alarmTypes).toEqual(input.alarmTypes.length ? input.alarmTypes : null);
          expect(r.data.schedule).toEqual(input.scheduled ? input.schedule : null);
          return;
        }
        for (const issue of r.error.issues) {
          // Every refusal lands on a field of the form, which has a message in the dictionary.
          expect(Object.keys(input)).toContain(String(issue.path[0]));
          const key = ruleFieldError(issue.path as (string | number)[]);
          expect(key in dictionaries.en, key).toBe(true);
          expect(key).not.toBe("routing.error.rule");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("sends empty fields as the API's defaults and refuses seconds that are not whole numbers", () => {
    const base: RuleFormInput = {
      ...emptyRuleForm("5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10"),
      name: " Natt ",
    };
    const body = ruleForm.parse(base);
    expect(body).toMatchObject({
      name: "Natt",
      alarmTypes: null,
      severities: null,
      schedule: null,
      cancelWindowS: null,
      reminderIntervalS: null,
      maxReminders: 0,
    });
    for (const [change, key] of [
      [{ cancelWindowS: "1.5" }, "routing.error.cancelWindow"],
      [{ reminderIntervalS: "10" }, "routing.error.reminderInterval"],
      [{ maxReminders: "many" }, "routing.error.maxReminders"],
      [{ steps: [{ ...newStep(), waitS: Number.NaN }] }, "routing.error.waitS"],
      [{ steps: [] }, "routing.error.steps"],
    ] as const) {
      const bad = ruleForm.safeParse({ ...base, ...change });
      expect(
        bad.error?.issues.map((i) => ruleFieldError(i.path as (string | number)[])),
        key,
      ).toEqual([key]);
    }
    const noDays = ruleForm.safeParse({
      ...base,
      scheduled: true,
      schedule: [{ days: [], start: "22:00", end: "07:00" }],
    });
    expect(noDays.error?.issues.map((i) => ruleFieldError(i.path as (string | number)[]))).toEqual([
      "routing.error.days",
    ]);
  });

  it("keeps a ticked list in the options' order, each item once", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...WEEKDAYS)),
        fc.constantFrom(...WEEKDAYS),
        fc.boolean(),
        (days, d, on) => {
          const next = toggled(days, d, on, WEEKDAYS);
          expect(next.includes(d)).toBe(on);
          expect(next).toEqual([...next].sort((a, b) => a - b));
          expect(new Set(next).size).toBe(next.length);
        },
      ),
    );
  });
});
