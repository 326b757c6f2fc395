import { describe, expect, it } from "vitest";
import { match } from "./router";

describe("path matching", () => {
  it("takes parameters from the path", () => {
    expect(match("/recipients/:id", "/recipients/abc")).toEqual({ id: "abc" });
    expect(match("/admin/:section", "/admin/routing/")).toEqual({ section: "routing" });
    expect(match("/recipients/:id", "/recipients/a%20b")).toEqual({ id: "a b" });
  });

  it("refuses other paths", () => {
    expect(match("/recipients/:id", "/recipients")).toBeNull();
    expect(match("/recipients/:id", "/admin/x")).toBeNull();
    expect(match("/recipients/:id", "/recipients/a/b")).toBeNull();
  });
});
