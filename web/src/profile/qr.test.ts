import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { qrPath } from "./qr";

describe("the authenticator app's QR code", () => {
  it("is a square of a QR version's size, the same for the same text and different for another", () => {
    const uri = "otpauth://totp/Vakt:oda%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=Vakt";
    const a = qrPath(uri);
    expect((a.size - 21) % 4).toBe(0);
    expect(qrPath(uri)).toEqual(a);
    expect(qrPath(uri.replace("JBSWY3", "KBSWY3")).d).not.toBe(a.d);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (text) => {
        const q = qrPath(text);
        expect(q.size).toBeGreaterThanOrEqual(21);
        expect((q.size - 21) % 4).toBe(0);
        // The three finder patterns: the top-left corner module is always dark.
        expect(q.d.startsWith("M0 0h1v1h-1z")).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
