/**
 * Deliberately broken uplinks, so that ingest's "never silently dropped" path
 * gets exercised: each kind breaks the contract in one known way.
 */
import type { UplinkKind } from "@vakt/schemas";
import { z } from "zod";

export const malformedKinds = [
  "invalid_json",
  "lat_out_of_range",
  "battery_out_of_range",
  "unknown_field",
  "oversized",
  "wrong_version",
] as const;
export const malformedKind = z.enum(malformedKinds);
export type MalformedKind = z.infer<typeof malformedKind>;

export interface MalformedUplink {
  kind: UplinkKind;
  payload: string;
}

type Json = Record<string, unknown>;

/**
 * Breaks a valid uplink `message` (of topic kind `kind`) in the way `malformed`
 * says. Where the message has no field to break (a status has no latitude), a
 * broken position is sent on the position topic instead.
 */
export function malform(
  malformed: MalformedKind,
  kind: UplinkKind,
  message: Json,
  options: { oversizedBytes: number },
): MalformedUplink {
  switch (malformed) {
    case "invalid_json": {
      const text = JSON.stringify(message);
      return { kind, payload: `${text.slice(0, Math.max(1, Math.floor(text.length / 2)))},"` };
    }
    case "lat_out_of_range": {
      const fix = message.fix as Json | undefined;
      if (fix) return { kind, payload: JSON.stringify({ ...message, fix: { ...fix, lat: 200 } }) };
      const t = typeof message.t === "number" ? message.t : Date.now();
      return {
        kind: "position",
        payload: JSON.stringify({ v: 1, id: message.id, fix: { t, lat: 200, lon: 10, source: "gps" } }),
      };
    }
    case "battery_out_of_range": {
      const fix = message.fix as Json | undefined;
      if (kind === "position" && fix) {
        return { kind, payload: JSON.stringify({ ...message, fix: { ...fix, batteryPct: 300 } }) };
      }
      return { kind, payload: JSON.stringify({ ...message, batteryPct: 300 }) };
    }
    case "unknown_field":
      return { kind, payload: JSON.stringify({ ...message, debugLevel: 3 }) };
    case "oversized": {
      const text = JSON.stringify(message);
      const padding = "x".repeat(Math.max(0, options.oversizedBytes - text.length - 14));
      return { kind, payload: JSON.stringify({ ...message, padding }) };
    }
    case "wrong_version":
      return { kind, payload: JSON.stringify({ ...message, v: 2 }) };
  }
}
