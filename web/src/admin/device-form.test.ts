import { deviceCreate, deviceProtocols } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import { type DeviceFormInput, deviceFieldError, deviceForm, emptyDeviceForm } from "./device-form";

const dept = "5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10";
const inputs: fc.Arbitrary<DeviceFormInput> = fc.record({
  serial: fc.oneof(
    fc.string({ maxLength: 70 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    fc.constantFrom("", " VK-1001 ", "vakt-ingest", "VAKT-1", "vakta-1", "a b", "x".repeat(65)),
  ),
  departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "not-a-uuid")),
  protocol: fc.constantFrom(...deviceProtocols),
});

describe("the provisioning form", () => {
  it("accepts exactly what the API's create schema accepts (the serial trimmed), refusals in words", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = deviceForm.safeParse(input);
        const api = deviceCreate.safeParse({ ...input, serial: input.serial.trim() });
        expect(r.success).toBe(api.success);
        if (r.success) {
          expect(r.data).toEqual(api.data);
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof DeviceFormInput;
          expect(Object.keys(input)).toContain(field);
          expect(deviceFieldError(field, input) in dictionaries.nb).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("says a serial kept for Vakt's services is kept, and a malformed one how serials look", () => {
    const reserved = { ...emptyDeviceForm(dept), serial: "Vakt-api" };
    expect(deviceForm.safeParse(reserved).error?.issues.map((i) => i.path[0])).toEqual(["serial"]);
    expect(deviceFieldError("serial", reserved)).toBe("devices.error.serialReserved");
    expect(deviceFieldError("serial", { ...reserved, serial: "VK 1" })).toBe("devices.error.serial");
    expect(deviceForm.parse({ ...reserved, serial: " VK-1001 " })).toEqual({
      serial: "VK-1001",
      departmentId: dept,
      protocol: "mqtt",
    });
  });

  it("needs a department", () => {
    const r = deviceForm.safeParse({ ...emptyDeviceForm(), serial: "VK-1" });
    expect(r.error?.issues.map((i) => i.path[0])).toEqual(["departmentId"]);
  });
});
