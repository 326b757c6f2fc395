import { alarmMessage, positionMessage, statusMessage } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { malform, malformedKinds } from "./malformed";

const t = Date.UTC(2025, 0, 1);
const fix = { t, lat: 59.9, lon: 10.7, source: "gps" };
const valid = {
  position: { v: 1, id: "p1", fix },
  status: { v: 1, id: "s1", t, batteryPct: 50 },
  alarm: { v: 1, id: "a1", t, type: "sos", fix },
} as const;
const schemas = { position: positionMessage, status: statusMessage, alarm: alarmMessage };

function isValid(kind: keyof typeof schemas, payload: string): boolean {
  try {
    return schemas[kind].safeParse(JSON.parse(payload)).success;
  } catch {
    return false;
  }
}

describe("malformed uplinks", () => {
  for (const kind of ["position", "status", "alarm"] as const) {
    it(`the valid ${kind} used here passes`, () => {
      expect(isValid(kind, JSON.stringify(valid[kind]))).toBe(true);
    });
    for (const m of malformedKinds) {
      it(`${m} breaks a ${kind}`, () => {
        const out = malform(m, kind, { ...valid[kind] }, { oversizedBytes: 70_000 });
        // Oversized: over ingest's default 64 KiB limit as well.
        if (m === "oversized") expect(Buffer.byteLength(out.payload)).toBeGreaterThan(65_536);
        expect(isValid(out.kind, out.payload)).toBe(false);
      });
    }
  }

  it("moves a latitude error to the position topic when the message has no fix", () => {
    expect(malform("lat_out_of_range", "status", { ...valid.status }, { oversizedBytes: 1 })).toMatchObject({
      kind: "position",
    });
  });
});
