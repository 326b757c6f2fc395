import { departmentCreate } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  type DepartmentFormInput,
  departmentFieldError,
  departmentForm,
  emptyDepartmentForm,
} from "./department-form";

const inputs: fc.Arbitrary<DepartmentFormInput> = fc.record({
  name: fc.oneof(fc.string({ maxLength: 210 }), fc.constantFrom("", "   ", "Sone 4", " Sone 4 ")),
  parentId: fc.oneof(fc.uuid({ version: 4 }), fc.constantFrom("", "not-a-uuid")),
});

describe("the new-department form", () => {
  it("accepts exactly what the API's create schema accepts, with every refusal on a field in words", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = departmentForm.safeParse(input);
        const api = departmentCreate.safeParse({ name: input.name, parentId: input.parentId || null });
        expect(r.success).toBe(api.success);
        if (r.success) {
          expect(r.data).toEqual(api.data);
          return;
        }
        for (const issue of r.error.issues) {
          const field = String(issue.path[0]) as keyof DepartmentFormInput;
          expect(Object.keys(input)).toContain(field);
          expect(departmentFieldError(field) in dictionaries.nb).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("sends a trimmed name, and no parent for the top level", () => {
    expect(departmentForm.parse({ ...emptyDepartmentForm(), name: " Sone 4 " })).toEqual({
      name: "Sone 4",
      parentId: null,
    });
    expect(departmentForm.safeParse(emptyDepartmentForm()).error?.issues.map((i) => i.path[0])).toEqual([
      "name",
    ]);
  });
});
