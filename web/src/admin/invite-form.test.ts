import { roleKey, staffUserCreate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import { emptyInviteForm, type InviteFormInput, inviteFieldError, inviteForm } from "./invite-form";

const inputs: fc.Arbitrary<InviteFormInput> = fc.record({
  email: fc.oneof(
    fc.constantFrom("ida@kommune.no", " Ida.Invitert@Kommune.NO ", "ida@", "ida", "", "@kommune.no"),
    fc.string({ maxLength: 40 }),
    fc.emailAddress(),
  ),
  firstName: fc.oneof(fc.string({ maxLength: 110 }), fc.constantFrom("", "  ", "Ida")),
  lastName: fc.oneof(fc.string({ maxLength: 110 }), fc.constantFrom("", " ", "Invitert")),
  role: fc.constantFrom(...roleKey.options),
  departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "not-a-uuid")),
});

describe("the invitation form", () => {
  it("accepts exactly what the API's create schema accepts, with every refusal on a field in words", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = inviteForm.safeParse(input);
        const api = staffUserCreate.safeParse({
          email: input.email,
          firstName: input.firstName,
          lastName: input.lastName,
          grants: [{ role: input.role, departmentId: input.departmentId || null }],
        });
        expect(r.success).toBe(api.success);
        if (r.success) {
          expect(r.data).toEqual(api.data);
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof InviteFormInput;
          expect(Object.keys(input)).toContain(field);
          expect(inviteFieldError(field) in dictionaries.en).toBe(true);
          expect(inviteFieldError(field) in dictionaries.nb).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("sends one grant, for the whole organisation when no department is chosen", () => {
    const input = {
      ...emptyInviteForm(),
      email: " Ida@Kommune.no",
      firstName: " Ida ",
      lastName: "Invitert",
    };
    expect(inviteForm.parse(input)).toEqual({
      email: "ida@kommune.no",
      firstName: "Ida",
      lastName: "Invitert",
      grants: [{ role: "operator", departmentId: null }],
    });
    const dept = "5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10";
    expect(inviteForm.parse({ ...input, role: "dept_admin", departmentId: dept }).grants).toEqual([
      { role: "dept_admin", departmentId: dept },
    ]);
  });

  it("puts a refused department on the department field and a bad address on the e-mail field", () => {
    const r = inviteForm.safeParse({ ...emptyInviteForm(), email: "ida", departmentId: "x" });
    expect(r.error?.issues.map((i) => i.path.join(".")).sort()).toEqual([
      "departmentId",
      "email",
      "firstName",
      "lastName",
    ]);
  });
});
