import { organisationUpdate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { organisationForm, TIME_ZONES } from "./organisation-form";

describe("the organisation form", () => {
  it("accepts only what the API's update schema accepts, with a known zone and a name", () => {
    fc.assert(
      fc.property(
        fc.record({
          name: fc.oneof(fc.string({ maxLength: 220 }), fc.constantFrom("", " ", "Vakt kommune")),
          timeZone: fc.oneof(
            fc.constantFrom(...TIME_ZONES),
            fc.string({ maxLength: 70 }),
            fc.constant("Mars/Olympus"),
          ),
          requireAdminSecondFactor: fc.boolean(),
        }),
        (input) => {
          const r = organisationForm.safeParse(input);
          if (!r.success) return;
          expect(organisationUpdate.safeParse(r.data).success).toBe(true);
          expect(r.data.name.trim()).not.toBe("");
          expect(TIME_ZONES.includes(r.data.timeZone) || r.data.timeZone === "UTC").toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(
      organisationForm.safeParse({ name: "X", timeZone: "Europe/Oslo", requireAdminSecondFactor: true })
        .success,
    ).toBe(true);
    expect(
      organisationForm.safeParse({ name: " ", timeZone: "Europe/Oslo", requireAdminSecondFactor: true })
        .success,
    ).toBe(false);
    expect(
      organisationForm.safeParse({ name: "X", timeZone: "Europe/Osl", requireAdminSecondFactor: true })
        .success,
    ).toBe(false);
  });
});
