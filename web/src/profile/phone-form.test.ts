import { profileUpdate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { phoneForm } from "./phone-form";

describe("the profile's phone form", () => {
  it("sends what the API takes (empty as null), and refuses on the phone field what it refuses", () => {
    const phones = fc.oneof(
      fc.constantFrom("", "  ", "12", "+47 00", "913 45 679", "+4791345679", " 412 34 567 ", "not a number"),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(phones, (phone) => {
        const r = phoneForm.safeParse({ phone });
        const api = profileUpdate.safeParse({ phone: phone.trim() ? phone : null });
        expect(r.success).toBe(api.success);
        if (r.success) expect(r.data).toEqual({ phone: api.success ? (api.data.phone ?? null) : null });
        else expect(r.error.issues.every((i) => i.path[0] === "phone")).toBe(true);
      }),
    );
    expect(phoneForm.parse({ phone: "913 45 679" })).toEqual({ phone: "+4791345679" });
    expect(phoneForm.parse({ phone: " " })).toEqual({ phone: null });
  });
});
