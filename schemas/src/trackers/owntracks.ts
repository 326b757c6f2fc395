/**
 * OwnTracks over MQTT (https://owntracks.org/booklet/tech/json/): the app
 * publishes to `owntracks/<user>/<device>`; Vakt maps `<device>` to a device
 * serial. Only the fields Vakt uses are checked; others pass through.
 */
import { z } from "zod";
import { latitude, longitude } from "../common";

/** Epoch seconds, as OwnTracks sends them. */
const epochSeconds = z.number().int().min(0);

export const owntracksLocation = z.looseObject({
  _type: z.literal("location"),
  tst: epochSeconds,
  lat: latitude,
  lon: longitude,
  acc: z.number().min(0).optional().describe("accuracy, metres"),
  alt: z.number().optional().describe("altitude, metres"),
  vel: z.number().min(0).optional().describe("velocity, km/h"),
  cog: z.number().min(0).max(360).optional().describe("course over ground, degrees"),
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
  acc: z.number().min(0).optional(),
  desc: z.string().optional(),
  t: z.string().optional(),
});

export const owntracksMessage = z.discriminatedUnion("_type", [
  owntracksLocation,
  owntracksLwt,
  owntracksTransition,
]);
export type OwntracksMessage = z.infer<typeof owntracksMessage>;

/** `owntracks/<user>/<device>`; the device segment is the Vakt serial. */
export function parseOwntracksTopic(topic: string): { user: string; device: string } | undefined {
  const parts = topic.split("/");
  if (parts.length !== 3 || parts[0] !== "owntracks" || !parts[1] || !parts[2]) return undefined;
  return { user: parts[1], device: parts[2] };
}
