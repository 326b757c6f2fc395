/**
 * The provisioning form: a serial (trimmed: one pasted from a label often carries a space), a
 * department and a protocol, checked by the shared create schema, so the form refuses exactly what
 * the API would.
 */
import { deviceCreate, deviceProtocol } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const deviceForm = z
  .object({
    serial: z.string(),
    departmentId: z.string(),
    protocol: deviceProtocol,
  })
  .transform((f, ctx) => {
    const r = deviceCreate.safeParse({ ...f, serial: f.serial.trim() });
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type DeviceFormInput = z.input<typeof deviceForm>;
export type DeviceCreateBody = z.output<typeof deviceForm>;

export const emptyDeviceForm = (departmentId = "", protocol: DeviceFormInput["protocol"] = "mqtt") => ({
  serial: "",
  departmentId,
  protocol,
});

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function deviceFieldError(field: keyof DeviceFormInput, value: DeviceFormInput): MessageKey {
  if (field === "serial")
    return value.serial.trim().toLowerCase().startsWith("vakt-")
      ? "devices.error.serialReserved"
      : "devices.error.serial";
  if (field === "departmentId") return "devices.error.department";
  return "devices.error.protocol";
}
