import { describe, expect, it } from "vitest";
import { defaultCentres, generateDevices } from "./generate";
import { distanceM } from "./geo";
import { deviceList } from "./options";

describe("generateDevices", () => {
  it("gives the same list for the same seed and another for another seed", () => {
    expect(generateDevices(20, defaultCentres, 7)).toEqual(generateDevices(20, defaultCentres, 7));
    expect(generateDevices(20, defaultCentres, 8)).not.toEqual(generateDevices(20, defaultCentres, 7));
  });

  it("makes a valid devices file with unique serials and secrets", () => {
    const devices = generateDevices(1000, defaultCentres, 1);
    expect(deviceList.parse(devices)).toHaveLength(1000);
    expect(new Set(devices.map((d) => d.secret)).size).toBe(1000);
    expect(devices[0]?.serial).toBe("SIM-000001");
  });

  it("puts homes around the given centres", () => {
    const centre = { lat: 69.6492, lon: 18.9553, radiusM: 1000 };
    for (const d of generateDevices(200, [centre], 3)) {
      expect(distanceM(centre, d.home)).toBeLessThanOrEqual(2000 + 1);
    }
  });

  it("refuses nonsense", () => {
    expect(() => generateDevices(-1)).toThrow();
    expect(() => generateDevices(1, [])).toThrow();
  });
});
