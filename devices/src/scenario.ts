/**
 * Scripted scenarios: a timeline of events per device, as JSON files.
 *
 *   { "name": "...", "devices": [{ "serial": "SN-1", "home": { "lat": 59.9, "lon": 10.7 } }],
 *     "options": { "tracking": true, "reportIntervalS": 30 },
 *     "end": "+40m",
 *     "timeline": [{ "at": "+30s", "device": "SN-1", "event": "sos" }, ...] }
 *
 * Times are offsets from the start: "+30s", "2m", "1h30m", "500ms", or a number of seconds.
 * Random events are off (quietOptions) unless the scenario's options turn them on.
 */
import { readFile } from "node:fs/promises";
import { deviceSerial } from "@vakt/schemas";
import { z } from "zod";
import type { DeviceEvent } from "./device";
import { malformedKind } from "./malformed";
import { latLon, mergeOptions, quietOptions, type SimOptions, simOptions } from "./options";

const durationPattern =
  /^\+?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/;

/** "+1h30m", "90s", "500ms" to milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = durationPattern.exec(text.trim());
  if (!m || text.trim().replace("+", "") === "") return undefined;
  const [, h, min, s, ms] = m;
  return Math.round(
    Number(h ?? 0) * 3_600_000 + Number(min ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0),
  );
}

export const duration = z.union([
  z
    .number()
    .min(0)
    .transform((s) => Math.round(s * 1000)),
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `not a duration: "${text}" (e.g. "+30s", "2m", "1h30m")` });
      return z.NEVER;
    }
    return ms;
  }),
]);

const base = { at: duration, device: deviceSerial };
export const scenarioEvent = z.discriminatedUnion("event", [
  z.strictObject({ ...base, event: z.literal("sos") }),
  z.strictObject({ ...base, event: z.literal("fall"), cancelAfter: duration.optional() }),
  z.strictObject({ ...base, event: z.literal("walk_to"), ...latLon.shape, stayFor: duration.optional() }),
  z.strictObject({ ...base, event: z.literal("wander"), distanceM: z.number().positive().optional() }),
  z.strictObject({ ...base, event: z.literal("go_home") }),
  z.strictObject({ ...base, event: z.literal("silence"), for: duration }),
  z.strictObject({
    ...base,
    event: z.literal("battery"),
    pct: z.number().min(0).max(100),
    charging: z.boolean().optional(),
  }),
  z.strictObject({ ...base, event: z.literal("malformed"), kind: malformedKind }),
  z.strictObject({ ...base, event: z.literal("redeliver") }),
  z.strictObject({ ...base, event: z.literal("skew"), ms: z.number().int() }),
  z.strictObject({ ...base, event: z.literal("position") }),
  z.strictObject({ ...base, event: z.literal("status") }),
]);
type ScenarioEventInput = z.output<typeof scenarioEvent>;

export const scenarioFile = z
  .strictObject({
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    devices: z
      .array(
        z.strictObject({
          serial: deviceSerial,
          home: latLon,
          /** Brokers that check credentials need it; a devices file given to runScenario may supply it. */
          secret: z.string().min(1).max(256).optional(),
        }),
      )
      .min(1),
    options: z.record(z.string(), z.unknown()).default({}),
    /** When the scenario ends; default one minute after the last event. */
    end: duration.optional(),
    timeline: z.array(scenarioEvent).min(1),
  })
  .superRefine((s, ctx) => {
    const serials = new Set(s.devices.map((d) => d.serial));
    s.timeline.forEach((e, i) => {
      if (!serials.has(e.device)) {
        ctx.addIssue({
          code: "custom",
          message: `unknown device ${e.device}`,
          path: ["timeline", i, "device"],
        });
      }
    });
    const options = simOptions.safeParse(mergeOptions(quietOptions, s.options));
    if (!options.success) {
      for (const issue of options.error.issues) {
        ctx.addIssue({
          code: "custom",
          message: issue.message,
          path: ["options", ...issue.path.map(String)],
        });
      }
    }
  });

/** A timeline entry ready for the simulator: offset from the start, device, event. */
export interface TimelineEvent {
  atMs: number;
  device: string;
  event: DeviceEvent;
}

export interface Scenario {
  name: string;
  description?: string;
  devices: { serial: string; home: { lat: number; lon: number }; secret?: string }[];
  options: SimOptions;
  endMs: number;
  timeline: TimelineEvent[];
}

function toDeviceEvent(e: ScenarioEventInput): DeviceEvent {
  switch (e.event) {
    case "fall":
      return e.cancelAfter === undefined
        ? { event: "fall" }
        : { event: "fall", cancelAfterMs: e.cancelAfter };
    case "walk_to":
      return e.stayFor === undefined
        ? { event: "walk_to", lat: e.lat, lon: e.lon }
        : { event: "walk_to", lat: e.lat, lon: e.lon, stayForMs: e.stayFor };
    case "wander":
      return e.distanceM === undefined ? { event: "wander" } : { event: "wander", distanceM: e.distanceM };
    case "silence":
      return { event: "silence", forMs: e.for };
    case "battery":
      return e.charging === undefined
        ? { event: "battery", pct: e.pct }
        : { event: "battery", pct: e.pct, charging: e.charging };
    case "malformed":
      return { event: "malformed", kind: e.kind };
    case "skew":
      return { event: "skew", ms: e.ms };
    default:
      return { event: e.event };
  }
}

/** Validates a parsed scenario file; throws a readable error. */
export function parseScenario(input: unknown): Scenario {
  const result = scenarioFile.safeParse(input);
  if (!result.success) throw new Error(`invalid scenario:\n${z.prettifyError(result.error)}`);
  const s = result.data;
  const timeline = s.timeline
    .map((e) => ({ atMs: e.at, device: e.device, event: toDeviceEvent(e) }))
    .sort((a, b) => a.atMs - b.atMs);
  const last = timeline.at(-1)?.atMs ?? 0;
  return {
    name: s.name,
    ...(s.description === undefined ? {} : { description: s.description }),
    devices: s.devices,
    options: simOptions.parse(mergeOptions(quietOptions, s.options)),
    endMs: Math.max(s.end ?? last + 60_000, last),
    timeline,
  };
}

export async function loadScenario(path: string): Promise<Scenario> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read scenario ${path}: ${(error as Error).message}`);
  }
  return parseScenario(json);
}
