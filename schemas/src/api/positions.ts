import { z } from "zod";
import { instant } from "../common";

/** Locators must say why they look; others may. */
/** A locator's reason must say something (what happened, why the position is needed), not "check". */
export const LOCATOR_REASON_MIN_LENGTH = 15;

export const reasonQuery = z.object({ reason: z.string().trim().min(3).max(500).optional() });

export const positionProperties = z.object({
  recipientId: z.string(),
  name: z.string().nullable(),
  departmentId: z.uuid(),
  time: z.iso.datetime(),
  accuracyM: z.number().nullable(),
  source: z.string(),
  batteryPercent: z.number().nullable(),
});
export const positionFeature = z.object({
  type: z.literal("Feature"),
  geometry: z.object({ type: z.literal("Point"), coordinates: z.tuple([z.number(), z.number()]) }),
  properties: positionProperties,
});
export const currentPositions = z.object({
  type: z.literal("FeatureCollection"),
  features: z.array(positionFeature),
});

export const historyQuery = reasonQuery.extend({
  from: instant(),
  to: instant(),
  /** Most points returned; longer ranges are averaged into time buckets. */
  maxPoints: z.coerce.number().int().min(10).max(20_000).default(2_000),
});
/** How the tracker noticed a transition (OwnTracks `t`): a circular region, a beacon, a location fix, or else. */
export const transitionTrigger = z.enum(["circular", "beacon", "location", "other"]);
export const geofenceTransition = z.object({
  time: z.iso.datetime(),
  event: z.enum(["enter", "leave"]),
  /** The region's name as set in the app, if it sent one. */
  region: z.string().nullable(),
  trigger: transitionTrigger.nullable(),
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number().nullable(),
});
export type GeofenceTransition = z.infer<typeof geofenceTransition>;

export const positionHistory = z.object({
  recipientId: z.string(),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  /** Bucket width in seconds when downsampled, null for raw fixes. */
  bucketSeconds: z.number().int().nullable(),
  points: z.array(
    z.object({ time: z.iso.datetime(), lat: z.number(), lon: z.number(), accuracyM: z.number().nullable() }),
  ),
  /** Geofence enters and leaves the recipient's tracker reported in the range (OwnTracks regions), oldest first. */
  transitions: z.array(geofenceTransition),
});
