/**
 * OwnTracks over MQTT (https://owntracks.org/booklet/tech/json/): the app
 * publishes to `owntracks/<user>/<device>`; Vakt maps `<device>` to a device
 * serial. Only the fields Vakt uses are checked; others pass through.
 */
import { z } from "zod";
import { latitude, longitude } from "../common";

/** Epoch seconds, as OwnTracks sends them. */
const epochSeconds = z.number().int().min(0);

/** The apps send `-1` for a value they do not have (no speed, course, accuracy or altitude): unknown. */
const unknownOr = <T extends z.ZodType<number>>(schema: T) =>
  z.union([z.literal(-1).transform(() => undefined), schema]).optional();

export const owntracksLocation = z.looseObject({
  _type: z.literal("location"),
  tst: epochSeconds,
  lat: latitude,
  lon: longitude,
  acc: unknownOr(z.number().min(0)).describe("accuracy, metres; -1 unknown"),
  alt: unknownOr(z.number()).describe("altitude, metres; -1 unknown"),
  vel: unknownOr(z.number().min(0)).describe("velocity, km/h; -1 unknown"),
  cog: unknownOr(z.number().min(0).max(360)).describe("course over ground, degrees; -1 unknown"),
  batt: z.number().min(0).max(100).optional().describe("battery, percent"),
  /** Battery status: 0 unknown, 1 unplugged, 2 charging, 3 full. */
  bs: z.number().int().min(0).max(3).optional(),
  tid: z.string().optional(),
});
export type OwntracksLocation = z.infer<typeof owntracksLocation>;

/** Last will: the broker publishes it when the app's connection drops. */
export const owntracksLwt = z.looseObject({
  _type: z.literal("lwt"),
  tst: epochSeconds,
});

/** Entering or leaving a region defined in the app. */
export const owntracksTransition = z.looseObject({
  _type: z.literal("transition"),
  tst: epochSeconds,
  wtst: epochSeconds.optional(),
  event: z.enum(["enter", "leave"]),
  lat: latitude,
  lon: longitude,
  acc: unknownOr(z.number().min(0)),
  desc: z.string().optional().describe("the region's description"),
  rid: z.string().optional().describe("the region's id"),
  /** How the app noticed: `c` circular region, `b` beacon, `l` location (booklet); kept as sent. */
  t: z.string().optional(),
});

export const owntracksMessage = z.discriminatedUnion("_type", [
  owntracksLocation,
  owntracksLwt,
  owntracksTransition,
]);
export type OwntracksMessage = z.infer<typeof owntracksMessage>;

/**
 * What the apps publish below their own topic (OwnTracks booklet, "Topics"): `event` carries
 * transitions; `cmd` is what the app listens to (commands to it); the rest (`step`, `beacon`, `dump`,
 * `waypoint`, `waypoints`, `info`, `status`) Vakt takes and ignores.
 */
export const owntracksSubtopics = [
  "event",
  "cmd",
  "step",
  "beacon",
  "dump",
  "waypoint",
  "waypoints",
  "info",
  "status",
] as const;
export type OwntracksSubtopic = (typeof owntracksSubtopics)[number];
const subtopics: ReadonlySet<string> = new Set(owntracksSubtopics);

/**
 * `owntracks/<user>/<device>` or `owntracks/<user>/<device>/<subtopic>`; the device segment is the
 * Vakt serial (checked by the caller). Anything else (other depths, unknown subtopics, empty or
 * wildcard segments) is undefined.
 */
export function parseOwntracksTopic(
  topic: string,
): { user: string; device: string; sub?: OwntracksSubtopic } | undefined {
  const parts = topic.split("/");
  if (parts.length !== 3 && parts.length !== 4) return undefined;
  const [root, user, device, sub] = parts;
  if (root !== "owntracks" || !user || !device) return undefined;
  if (/[+#]/.test(user) || /[+#]/.test(device)) return undefined;
  if (sub === undefined) return { user, device };
  return subtopics.has(sub) ? { user, device, sub: sub as OwntracksSubtopic } : undefined;
}

/** Where an app listens for commands (`reportLocation`, `setConfiguration`): its own topic + `/cmd`. */
export const owntracksCommandTopic = (user: string, device: string) => `owntracks/${user}/${device}/cmd`;

/** The commands Vakt sends an app: only "report your location now" (Vakt's "locate"). */
export const owntracksCommand = z.strictObject({
  _type: z.literal("cmd"),
  action: z.literal("reportLocation"),
});
export type OwntracksCommand = z.infer<typeof owntracksCommand>;
export const owntracksReportLocation: OwntracksCommand = { _type: "cmd", action: "reportLocation" };
