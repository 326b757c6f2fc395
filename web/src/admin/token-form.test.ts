import { apiTokenCreate, tokenPermission } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyTokenForm, type TokenFormInput, tokenFieldError, tokenForm, tokenState } from "./token-form";

const uuid = fc.uuid();
const formInput: fc.Arbitrary<TokenFormInput> = fc.record({
  name: fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom("", "  ", "Statistikk")),
  permissions: fc.uniqueArray(fc.constantFrom(...tokenPermission.options)),
  wholeOrganisation: fc.boolean(),
  departmentIds: fc.uniqueArray(fc.oneof(uuid, fc.constantFrom("", "not-a-uuid")), { maxLength: 3 }),
  pseudonymous: fc.boolean(),
  expiresAt: fc.oneof(
    fc.constant(""),
    fc
      .date({ min: new Date("2020-01-01"), max: new Date("2099-12-31"), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    fc.constantFrom("2026-13-01", "tomorrow", "31.12.2026"),
  ),
});

describe("the API token form", () => {
  it("accepts exactly what the API's own schema accepts, and sends what the administrator chose", () => {
    fc.assert(
      fc.property(formInput, (input) => {
        const r = tokenForm.safeParse(input);
        if (!r.success) {
          // Every refusal lands on a field of the form, which has a message in the dictionary.
          for (const issue of r.error.issues) expect(Object.keys(input)).toContain(String(issue.path[0]));
          return;
        }
        expect(apiTokenCreate.safeParse(r.data).success).toBe(true);
        expect(r.data.departmentIds).toEqual(input.wholeOrganisation ? null : input.departmentIds);
        expect(r.data.pseudonymous).toBe(input.pseudonymous);
        expect(r.data.expiresAt === null).toBe(input.expiresAt === "");
        if (r.data.expiresAt)
          expect(new Date(r.data.expiresAt).getDate()).toBe(Number(input.expiresAt.slice(8)));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a pseudonymous token that may locate devices, saying why, on the permissions", () => {
    const input = { ...emptyTokenForm(), name: "Lokalisering", permissions: ["device:locate" as const] };
    const r = tokenForm.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["permissions"]);
    expect(tokenFieldError("permissions", input)).toBe("tokens.error.locatePseudonymous");
    expect(tokenForm.safeParse({ ...input, pseudonymous: false }).success).toBe(true);
  });

  it("needs departments when the token is not for the whole organisation", () => {
    const input = {
      ...emptyTokenForm(),
      name: "Sone 1",
      permissions: ["alarm:read" as const],
      wholeOrganisation: false,
    };
    expect(tokenForm.safeParse(input).error?.issues.map((i) => i.path.join("."))).toEqual(["departmentIds"]);
  });

  it("tells revoked, expired and working tokens apart", () => {
    const now = Date.parse("2026-06-01T12:00:00Z");
    expect(tokenState({ revokedAt: "2026-05-01T00:00:00Z", expiresAt: null }, now)).toBe("revoked");
    expect(tokenState({ revokedAt: null, expiresAt: "2026-06-01T12:00:00Z" }, now)).toBe("expired");
    expect(tokenState({ revokedAt: null, expiresAt: "2026-06-02T00:00:00Z" }, now)).toBe("active");
    expect(tokenState({ revokedAt: null, expiresAt: null }, now)).toBe("active");
  });
});
