import { describe, expect, it } from "vitest";
import { tokenFromHash } from "./SetPasswordPage";

describe("tokenFromHash", () => {
  it("reads the token from the link's fragment", () => {
    expect(tokenFromHash("#token=abcdefghijklmnopqrstuvwxyz012345")).toBe("abcdefghijklmnopqrstuvwxyz012345");
  });
  it("refuses a missing, short or odd token", () => {
    expect(tokenFromHash("")).toBeNull();
    expect(tokenFromHash("#token=short")).toBeNull();
    expect(tokenFromHash("#token=<script>alert(1)</script>aaaaaaaaaaaa")).toBeNull();
  });
});
