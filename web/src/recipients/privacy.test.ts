import { describe, expect, it } from "vitest";
import { erasureConfirmed, exportFilename, exportQuery, exportUrl, reasonValid } from "./privacy";

const id = "6f1c1c2e-0b7a-4d8e-9a51-3f0c2d9e8b11";
const now = new Date("2026-11-22T03:00:00.000Z");

describe("the recipient's privacy actions", () => {
  it("ask for positions from the chosen number of days before now, in the chosen format", () => {
    expect(exportQuery("zip", 30, now)).toEqual({
      format: "zip",
      from: "2026-10-23T03:00:00.000Z",
      to: "2026-11-22T03:00:00.000Z",
    });
    const url = new URL(exportUrl(id, "json", 400, now), "http://x");
    expect(url.pathname).toBe(`/api/v1/privacy/recipients/${id}/export`);
    expect(url.searchParams.get("format")).toBe("json");
    expect(url.searchParams.get("from")).toBe("2025-10-18T03:00:00.000Z");
    expect(url.searchParams.get("to")).toBe(now.toISOString());
  });

  it("name the file after the recipient's id, the day and the format", () => {
    expect(exportFilename(id, "json", now)).toBe(`vakt-recipient-${id}-2026-11-22.json`);
    expect(exportFilename(id, "zip", now)).toBe(`vakt-recipient-${id}-2026-11-22.zip`);
  });

  it("accept a reason of 3 to 500 characters after trimming", () => {
    expect(reasonValid("  ab ")).toBe(false);
    expect(reasonValid("abc")).toBe(true);
    expect(reasonValid("x".repeat(500))).toBe(true);
    expect(reasonValid("x".repeat(501))).toBe(false);
  });

  it("confirm an erasure only when the full name is typed", () => {
    expect(erasureConfirmed("Nora Nordby", "Nora Nordby", id)).toBe(true);
    expect(erasureConfirmed("  Nora   Nordby ", "Nora Nordby", id)).toBe(true);
    expect(erasureConfirmed("nora nordby", "Nora Nordby", id)).toBe(false);
    expect(erasureConfirmed("Nora", "Nora Nordby", id)).toBe(false);
    expect(erasureConfirmed("", "Nora Nordby", id)).toBe(false);
    // A composed and a decomposed é are the same letter.
    expect(erasureConfirmed("Rene\u0301 Ødegård", "René Ødegård", id)).toBe(true);
  });

  it("confirm an erasure of a recipient without a name by its id", () => {
    expect(erasureConfirmed(id, "", id)).toBe(true);
    expect(erasureConfirmed("", "", id)).toBe(false);
  });
});
