import { type DeviceSettings, deviceConfigure } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  type DeviceConfigInput,
  deviceConfigError,
  deviceConfigForm,
  deviceConfigToForm,
} from "./device-config-form";

const numberText = fc.oneof(
  fc.integer({ min: -10, max: 100_000 }).map(String),
  fc.constantFrom("", " ", "12.5", "abc", "10", "60", "86400", "86401", "0", "100", "101"),
);
const inputs: fc.Arbitrary<DeviceConfigInput> = fc.record({
  reportIntervalS: numberText,
  heartbeatIntervalS: numberText,
  trackingEnabled: fc.boolean(),
  fallDetection: fc.constantFrom("off", "low", "medium", "high"),
  lowBatteryPct: numberText,
  alarmNumber: fc.oneof(
    fc.constantFrom("", "+4712345678", "12345678", "+47 123", " +4798765432 "),
    fc.string(),
  ),
});

describe("the device configuration form", () => {
  it("refuses on each field what the API's body schema refuses, in both languages", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = deviceConfigForm.safeParse(input);
        const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
        const alarmNumber = input.alarmNumber.trim();
        const api = deviceConfigure.safeParse({
          settings: {
            reportIntervalS: num(input.reportIntervalS),
            heartbeatIntervalS: num(input.heartbeatIntervalS),
            trackingEnabled: input.trackingEnabled,
            fallDetection: input.fallDetection,
            lowBatteryPct: num(input.lowBatteryPct),
            ...(alarmNumber ? { alarmNumber } : {}),
          },
        });
        expect(r.success).toBe(api.success);
        if (r.success) return;
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof DeviceConfigInput;
          expect(Object.keys(input)).toContain(field);
          expect(dictionaries.en[deviceConfigError(field)]).toBeTruthy();
          expect(dictionaries.nb[deviceConfigError(field)]).toBeTruthy();
        }
      }),
    );
  });

  it("saves the desired configuration as read unchanged, and an empty field is refused, not 0", () => {
    const stored: DeviceSettings = {
      reportIntervalS: 120,
      heartbeatIntervalS: 900,
      trackingEnabled: false,
      fallDetection: "medium",
      lowBatteryPct: 20,
    };
    expect(deviceConfigForm.parse(deviceConfigToForm(stored))).toEqual({ settings: stored });
    const withNumber = { ...stored, alarmNumber: "+4712345678" };
    expect(deviceConfigForm.parse(deviceConfigToForm(withNumber))).toEqual({ settings: withNumber });
    const empty = deviceConfigForm.safeParse({ ...deviceConfigToForm(stored), lowBatteryPct: "" });
    expect(empty.error?.issues.map((i) => i.path)).toEqual([["lowBatteryPct"]]);
  });
});
