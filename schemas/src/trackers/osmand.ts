/**
 * The OsmAnd protocol as Traccar speaks it (https://www.traccar.org/osmand/):
 * query string or form fields `id`, `lat`, `lon` (or `location=lat,lon`),
 * `timestamp` (epoch seconds, epoch milliseconds, or an ISO date), `speed` in
 * knots, `bearing`, `altitude`, `accuracy`/`hdop`, `batt`; and the JSON body
 * Traccar Client sends (`{device_id, location: {timestamp, coords, battery}}`).
 * `id` / `deviceid` / `device_id` is not part of these schemas: it is the
 * device's OsmAnd identifier (a secret issued at provisioning, not the
 * serial), taken out of the request and resolved to a device by ingest's
 * HTTP edge before the rest is parsed here.
 */
import { z } from "zod";
import { latitude, longitude } from "../common";

const num = z.coerce.number().refine(Number.isFinite, "a number");

/** Epoch seconds, epoch milliseconds or an ISO 8601 date, to epoch milliseconds. */
export const osmandTimestamp = z.union([
  z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform((s) => {
      const n = Number(s);
      return n > 1e11 ? Math.round(n) : Math.round(n * 1000);
    }),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$/)
    .transform((s) => Date.parse(`${s.replace(" ", "T")}Z`)),
]);

export const osmandQuery = z
  .looseObject({
    lat: num.pipe(latitude).optional(),
    lon: num.pipe(longitude).optional(),
    location: z
      .string()
      .regex(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/)
      .optional(),
    timestamp: osmandTimestamp.optional(),
    speed: num.pipe(z.number().min(0).max(700)).optional().describe("knots"),
    bearing: num.pipe(z.number().min(0).max(360)).optional(),
    heading: num.pipe(z.number().min(0).max(360)).optional(),
    altitude: num.optional(),
    accuracy: num.pipe(z.number().min(0)).optional(),
    hdop: num.pipe(z.number().min(0)).optional(),
    batt: num.pipe(z.number().min(0).max(100)).optional(),
    charge: z.enum(["true", "false"]).optional(),
  })
  .refine((q) => (q.lat !== undefined && q.lon !== undefined) || q.location !== undefined, {
    message: "lat and lon (or location) are required",
  });
export type OsmandQuery = z.infer<typeof osmandQuery>;

/** `cell=mcc,mnc,lac,cid[,rssi]`, as Traccar reads it (one field per cell). */
export const osmandCell = z
  .string()
  .regex(/^\d{1,3},\d{1,3},\d{1,10},\d{1,12}(,-?\d{1,3})?$/, "expected mcc,mnc,lac,cid[,rssi]");
/** `wifi=<mac>,<rssi>` (one field per access point). */
export const osmandWifi = z
  .string()
  .regex(/^([0-9A-Fa-f]{2}[-:]){5}[0-9A-Fa-f]{2},-?\d{1,3}$/, "expected mac,rssi");

/**
 * A request with cells or access points and no coordinates (Traccar keeps it, to locate it by the
 * network later): Vakt keeps it in the raw log with its cell and wifi data, and no position.
 */
export const osmandNetworkQuery = z.looseObject({
  timestamp: osmandTimestamp.optional(),
  cell: z.array(osmandCell).max(32).default([]),
  wifi: z.array(osmandWifi).max(64).default([]),
  batt: num.pipe(z.number().min(0).max(100)).optional(),
  charge: z.enum(["true", "false"]).optional(),
});
export type OsmandNetworkQuery = z.infer<typeof osmandNetworkQuery>;

export const osmandJson = z.looseObject({
  location: z.looseObject({
    timestamp: z.iso.datetime({ offset: true }),
    coords: z.looseObject({
      latitude,
      longitude,
      accuracy: z.number().min(0).optional(),
      speed: z.number().optional().describe("m/s; negative when unknown"),
      heading: z.number().optional().describe("degrees; negative when unknown"),
      altitude: z.number().optional(),
    }),
    battery: z
      .looseObject({ level: z.number().min(-1).max(1), is_charging: z.boolean().optional() })
      .optional(),
    is_moving: z.boolean().optional(),
    event: z.string().optional(),
  }),
});
export type OsmandJson = z.infer<typeof osmandJson>;
