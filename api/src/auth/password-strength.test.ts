import { describe, expect, it } from "vitest";
import { checkPasswordStrength } from "./password-strength";

describe("password strength", () => {
  it("refuses repeated, common and breached-list passwords however long", () => {
    for (const p of ["aaaaaaaaaaaa", "password1234", "123456789012", "qwertyuiopas", "iloveyou1234"]) {
      expect(() => checkPasswordStrength(p), p).toThrow(/guess/);
    }
  });
  it("accepts a long phrase of unrelated words", () => {
    expect(() => checkPasswordStrength("correct horse battery staple")).not.toThrow();
    expect(() => checkPasswordStrength("a long password!")).not.toThrow();
  });
});
