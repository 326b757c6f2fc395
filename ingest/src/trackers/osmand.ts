/**
 * The OsmAnd protocol (Traccar Client and compatible apps) into decisions:
 * query string or form fields, or Traccar Client's JSON body. `id` /
 * `device_id` is the Vakt serial.
 */
import { checkDeviceTime, deviceSerial, osmandJson, osmandQuery } from "@vakt/schemas";
import {
  type DeadLetterReason,
  type Decision,
  type DeviceLookup,
  deadLetter,
  type PositionRow,
} from "../pipeline/decide";

const KNOTS_TO_MPS = 1852 / 3600;

export const OSMAND_TOPIC = "osmand";

/** The serial a request names, if it names one at all (for the device look-up before deciding). */
export function osmandSerial(input: Record<string, string> | unknown): string | undefined {
  if (typeof input !== "object" || input === null) return undefined;
  const o = input as Record<string, unknown>;
  const id = o.id ?? o.device_id ?? o.deviceid;
  const r = deviceSerial.safeParse(id);
  return r.success ? r.data : undefined;
}

/** `fields`: query string and form fields merged; `json`: a parsed JSON body, if that is what came. */
export function osmandDecision(
  input: { fields: Record<string, string>; json?: unknown; rawText: string },
  now: number,
  lookup: DeviceLookup,
): Decision {
  const payload = Buffer.from(input.rawText, "utf8");
  const serial = osmandSerial(input.json ?? input.fields);
  const device = serial ? lookup(serial) : undefined;
  const reject = (reason: DeadLetterReason, detail: string | null = null) =>
    deadLetter({ now, transport: "http", topic: OSMAND_TOPIC, payload, device, reason, detail });
  if (!serial) return reject("invalid_message", "id: missing or not a serial");
  if (!device) return reject("unknown_device", `serial ${serial}`);

  let fix: Omit<PositionRow, "deviceId" | "organisationId" | "recipientId" | "messageId">;
  let charging: boolean | null = null;
  if (input.json !== undefined) {
    const r = osmandJson.safeParse(input.json);
    if (!r.success) return reject("invalid_message", r.error.issues.map((i) => i.message).join("; "));
    const { coords, battery, timestamp } = r.data.location;
    fix = {
      time: Date.parse(timestamp),
      lat: coords.latitude,
      lon: coords.longitude,
      accuracyM: coords.accuracy ?? null,
      speedMps: coords.speed !== undefined && coords.speed >= 0 ? coords.speed : null,
      headingDeg: coords.heading !== undefined && coords.heading >= 0 ? coords.heading % 360 : null,
      altitudeM: coords.altitude ?? null,
      source: "gps",
      batteryPct: battery && battery.level >= 0 ? Math.round(battery.level * 100) : null,
    };
    charging = battery?.is_charging ?? null;
  } else {
    const r = osmandQuery.safeParse(input.fields);
    if (!r.success) return reject("invalid_message", r.error.issues.map((i) => i.message).join("; "));
    const q = r.data;
    const [lat, lon] =
      q.lat !== undefined && q.lon !== undefined ? [q.lat, q.lon] : (q.location ?? "").split(",").map(Number);
    if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      return reject("invalid_message", "lat/lon out of range");
    }
    const heading = q.bearing ?? q.heading;
    fix = {
      time: q.timestamp ?? now,
      lat,
      lon,
      accuracyM: q.accuracy ?? q.hdop ?? null,
      speedMps: q.speed !== undefined ? q.speed * KNOTS_TO_MPS : null,
      headingDeg: heading !== undefined ? heading % 360 : null,
      altitudeM: q.altitude ?? null,
      source: "gps",
      batteryPct: q.batt ?? null,
    };
    charging = q.charge !== undefined ? q.charge === "true" : null;
  }
  if (!Number.isFinite(fix.time)) return reject("invalid_message", "timestamp");
  const problem = checkDeviceTime(fix.time, now);
  if (problem) return reject(problem === "before_2000" ? "timestamp_before_2000" : "timestamp_in_future");
  const messageId = `osmand-${fix.time}`;
  return {
    kind: "store",
    device,
    uplink: "position",
    status: null,
    alarm: null,
    positions: [
      {
        ...fix,
        deviceId: device.id,
        organisationId: device.organisationId,
        recipientId: device.recipientId,
        messageId,
      },
    ],
    raw: {
      time: fix.time,
      deviceId: device.id,
      organisationId: device.organisationId,
      topic: OSMAND_TOPIC,
      messageId,
      kind: "osmand",
      payloadText: JSON.stringify(input.json ?? input.fields),
    },
    seen: { at: now, online: true, batteryPct: fix.batteryPct, charging, reportedConfig: null },
  };
}
