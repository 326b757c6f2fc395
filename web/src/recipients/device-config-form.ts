/**
 * A device's desired configuration as its form holds it (numbers as typed, the alarm number a
 * string, "" for none) turned into the settings and checked by the API's own body schema
 * (deviceConfigure), so the form refuses on each field what the API would.
 */
import { type DeviceSettings, deviceConfigure, fallSensitivity } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const deviceConfigForm = z
  .object({
    reportIntervalS: z.string(),
    heartbeatIntervalS: z.string(),
    trackingEnabled: z.boolean(),
    fallDetection: fallSensitivity,
    lowBatteryPct: z.string(),
    alarmNumber: z.string(),
  })
  .transform((f, ctx) => {
    // "" is no number at all (Number("") would be 0).
    const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
    const alarmNumber = f.alarmNumber.trim();
    const settings = {
      reportIntervalS: num(f.reportIntervalS),
      heartbeatIntervalS: num(f.heartbeatIntervalS),
      trackingEnabled: f.trackingEnabled,
      fallDetection: f.fallDetection,
      lowBatteryPct: num(f.lowBatteryPct),
      ...(alarmNumber ? { alarmNumber } : {}),
    };
    const r = deviceConfigure.safeParse({ settings });
    if (r.success) return r.data;
    // The API's issues are about `settings.<field>`: each lands on the form's field of that name.
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.slice(1).map(String) });
    return z.NEVER;
  });

export type DeviceConfigInput = z.input<typeof deviceConfigForm>;
export type DeviceConfigBody = z.output<typeof deviceConfigForm>;

/** The form filled with the desired configuration as read. */
export const deviceConfigToForm = (s: DeviceSettings): DeviceConfigInput => ({
  reportIntervalS: String(s.reportIntervalS),
  heartbeatIntervalS: String(s.heartbeatIntervalS),
  trackingEnabled: s.trackingEnabled,
  fallDetection: s.fallDetection,
  lowBatteryPct: String(s.lowBatteryPct),
  alarmNumber: s.alarmNumber ?? "",
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export const deviceConfigError = (field: keyof DeviceConfigInput): MessageKey => `settings.error.${field}`;
