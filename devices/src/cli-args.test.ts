import { describe, expect, it } from "vitest";
import { parseCli } from "./cli-args";

describe("command-line arguments", () => {
  it("parses a load run", () => {
    const a = parseCli([
      "--devices",
      "5000",
      "--tracking",
      "30",
      "--duration",
      "10m",
      "--json",
      "--seed",
      "7",
    ]);
    expect(a).toMatchObject({ devices: "5000", tracking: 30, duration: 600_000, json: true, seed: 7 });
  });

  it("parses centres, malformed kinds and rates", () => {
    const a = parseCli([
      "--generate",
      "10",
      "--centre",
      "59.9,10.7,3000",
      "--centre",
      "60.39,5.32",
      "--malformed-kinds",
      "invalid_json,oversized",
      "--malformed-rate",
      "0.05",
    ]);
    expect(a.centre).toEqual([
      { lat: 59.9, lon: 10.7, radiusM: 3000 },
      { lat: 60.39, lon: 5.32, radiusM: 2000 },
    ]);
    expect(a["malformed-kinds"]).toEqual(["invalid_json", "oversized"]);
    expect(a["malformed-rate"]).toBe(0.05);
  });

  it.each([
    [["--generate", "10", "--malformed-rate", "2"]],
    [["--generate", "ten"]],
    [["--generate", "10", "--centre", "200,10"]],
    [["--generate", "10", "--malformed-kinds", "lat_200"]],
    [["--generate", "10", "--duration", "soon"]],
    [["--generate", "10", "--url", "http://x"]],
    [["--generate", "10", "--tracking", "10", "--rate", "100"]],
    [["--generate", "10", "--bogus"]],
    [[]],
  ])("refuses %j", (argv) => {
    expect(() => parseCli(argv)).toThrow();
  });

  it("needs no devices for --help", () => {
    expect(parseCli(["--help"]).help).toBe(true);
  });
});
