import { describe, expect, it } from "vitest";
import { blinkFrame } from "./attention";

describe("the blinking title", () => {
  it("alternates between the alert and the normal title", () => {
    expect(blinkFrame("Vakt", "New alarm", 0)).toBe("🔴 New alarm – Vakt");
    expect(blinkFrame("Vakt", "New alarm", 1)).toBe("Vakt");
    expect(blinkFrame("Vakt", "New alarm", 2)).toBe("🔴 New alarm – Vakt");
  });
});
