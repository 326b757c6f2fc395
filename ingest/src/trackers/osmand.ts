/**
 * The OsmAnd protocol (Traccar Client and compatible apps) into decisions:
 * query string or form fields, or Traccar Client's JSON body.
 *
 * The identifier the app sends (`id` or `deviceid` in fields, `device_id` in
 * JSON) is not the serial: it is the device's secret, issued at provisioning
 * (`devices.osmand_id_sha256`). The HTTP edge (`../http/server.ts`) resolves
 * it to a serial before anything is decided; here the identifier is only
 * taken out of the request (`osmandIdentifier`) and kept out of everything
 * stored (`OsmandRequest.payloadText`).
 */
import { checkDeviceTime, osmandJson, osmandNetworkQuery, osmandQuery } from "@vakt/schemas";
import type { z } from "zod";
import {
  type DeadLetterReason,
  type Decision,
  type DeviceLookup,
  deadLetter,
  type PositionRow,
} from "../pipeline/decide";
import { parseDeviceJson, storableHeading, storableReal } from "../pipeline/storable";

const KNOTS_TO_MPS = 1852 / 3600;

export const OSMAND_TOPIC = "osmand";

/** Field names that carry the device identifier. */
export const OSMAND_ID_FIELDS = ["id", "deviceid"] as const;
export const OSMAND_JSON_ID_FIELD = "device_id";
const REDACTED = "[redacted]";
const CREDENTIAL_LIKE = /[A-Za-z0-9_-]{16,}/g;

/** A request as the HTTP edge read it: every value of every field (query string, then form body). */
export interface OsmandRequest {
  fields: Map<string, string[]>;
  /** A parsed JSON body, if that is what came (`undefined` otherwise). */
  json?: unknown;
  /** Set when the body claimed to be JSON and was not. */
  invalidJson?: string;
  /** The request as a dead letter keeps it, identifiers replaced by `[redacted]`. */
  payloadText: string;
  /** The request as JSON for the raw log (`device_messages.payload`), identifiers replaced likewise. */
  logJson: string;
}

/** A request's raw text with anything credential-like replaced, for a request that could not be read. */
export function redactedRawRequest(query: string, bodyText: string): string {
  return [query, bodyText]
    .filter((p) => p.length > 0)
    .join("\n")
    .replace(CREDENTIAL_LIKE, REDACTED);
}

/** Reads query string and body into an `OsmandRequest`; nothing is validated yet. */
export function readOsmandRequest(query: string, body: { type: "form" | "json" | "none"; text: string }) {
  const fields = new Map<string, string[]>();
  const add = (params: URLSearchParams) => {
    for (const [k, v] of params) fields.set(k, [...(fields.get(k) ?? []), v]);
  };
  add(new URLSearchParams(query));
  let json: unknown;
  let invalidJson: string | undefined;
  if (body.type === "form") add(new URLSearchParams(body.text));
  if (body.type === "json") {
    const parsed = parseDeviceJson(body.text);
    if (parsed.ok) json = parsed.value;
    else invalidJson = parsed.detail;
  }
  const redactedFields = new URLSearchParams();
  for (const [k, vs] of fields) {
    for (const v of vs)
      redactedFields.append(k, (OSMAND_ID_FIELDS as readonly string[]).includes(k) ? REDACTED : v);
  }
  const parts = [redactedFields.toString()];
  if (body.type === "json") {
    parts.push(
      json !== undefined
        ? JSON.stringify(redactJson(json))
        : body.text.replace(/("device_id"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]*)/g, `$1"${REDACTED}"`),
    );
  }
  const logged: Record<string, string | string[]> = {};
  for (const [k, vs] of fields) {
    const kept = (OSMAND_ID_FIELDS as readonly string[]).includes(k) ? vs.map(() => REDACTED) : vs;
    logged[k] = kept.length === 1 ? (kept[0] as string) : kept;
  }
  const request: OsmandRequest = {
    fields,
    // Also wherever a request put something credential-like outside the identifier fields (a JSON body
    // sent as a form, an identifier under a misspelt name): runs of 16 or more URL-safe characters.
    payloadText: parts
      .filter((p) => p.length > 0)
      .join("\n")
      .replace(CREDENTIAL_LIKE, REDACTED),
    logJson: JSON.stringify(json !== undefined ? redactJson(json) : logged),
  };
  if (json !== undefined) request.json = json;
  if (invalidJson !== undefined) request.invalidJson = invalidJson;
  return request;
}

function redactJson(json: unknown): unknown {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  return OSMAND_JSON_ID_FIELD in o ? { ...o, [OSMAND_JSON_ID_FIELD]: REDACTED } : o;
}

export type OsmandIdentifier = { ok: true; id: string } | { ok: false; detail: string };

/**
 * The one identifier a request presents. Every place it may be given (`id`, `deviceid`, each as often
 * as it appears, and the JSON `device_id`) must name the same one, so no part of a request can speak
 * for another device than the part that was authenticated.
 */
export function osmandIdentifier(request: OsmandRequest): OsmandIdentifier {
  const presented: string[] = [];
  for (const name of OSMAND_ID_FIELDS) presented.push(...(request.fields.get(name) ?? []));
  if (request.json !== undefined) {
    if (typeof request.json !== "object" || request.json === null || Array.isArray(request.json)) {
      return { ok: false, detail: "body: a JSON object is required" };
    }
    const id = (request.json as Record<string, unknown>)[OSMAND_JSON_ID_FIELD];
    if (id !== undefined) {
      if (typeof id !== "string") return { ok: false, detail: "device_id: must be a string" };
      presented.push(id);
    }
  }
  const [first] = presented;
  if (first === undefined) return { ok: false, detail: "id: missing (send id, deviceid or device_id)" };
  if (presented.some((p) => p !== first)) {
    return { ok: false, detail: "id: id, deviceid and device_id name different identifiers" };
  }
  if (first.length === 0) return { ok: false, detail: "id: empty" };
  return { ok: true, id: first };
}

/** A request refused before it reached a device (malformed, unauthenticated, too large). */
export function osmandRefusal(
  payloadText: string,
  now: number,
  reason: DeadLetterReason,
  detail: string,
  payloadBytes?: number,
): Decision {
  const payload = Buffer.from(payloadText, "utf8");
  const d = deadLetter({
    now,
    transport: "http",
    topic: OSMAND_TOPIC,
    payload,
    device: undefined,
    reason,
    detail,
  });
  if (payloadBytes !== undefined && d.kind === "dead_letter") d.row.payloadBytes = payloadBytes;
  return d;
}

/** Names the field of each issue: "lat: …; timestamp: …". */
function issues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join(".") : "request"}: ${i.message}`)
    .join("; ");
}

/** One value per field for the fields OsmAnd defines; a field given twice with different values is refused. */
function singleValues(
  fields: Map<string, string[]>,
): { ok: true; values: Record<string, string> } | { ok: false; detail: string } {
  const values: Record<string, string> = {};
  for (const [k, vs] of fields) {
    if ((OSMAND_ID_FIELDS as readonly string[]).includes(k)) continue;
    const [first] = vs;
    if (first === undefined) continue;
    if (vs.some((v) => v !== first) && k in osmandQuery.shape) {
      return { ok: false, detail: `${k}: given more than once with different values` };
    }
    values[k] = first;
  }
  return { ok: true, values };
}

type OsmandFix = Omit<PositionRow, "deviceId" | "organisationId" | "recipientId" | "messageId">;

/** The fix of the JSON body (Traccar Client 9+): negative accuracy, speed or heading mean "not known". */
function fixOfJson(location: z.infer<typeof osmandJson>["location"]): {
  fix: OsmandFix;
  charging: boolean | null;
} {
  const { coords, battery, timestamp } = location;
  const fix: OsmandFix = {
    time: Date.parse(timestamp),
    lat: coords.latitude,
    lon: coords.longitude,
    accuracyM: coords.accuracy !== undefined && coords.accuracy >= 0 ? storableReal(coords.accuracy) : null,
    speedMps: coords.speed !== undefined && coords.speed >= 0 ? storableReal(coords.speed) : null,
    headingDeg:
      coords.heading !== undefined && coords.heading >= 0 ? storableHeading(coords.heading % 360) : null,
    altitudeM: storableReal(coords.altitude),
    source: "gps",
    batteryPct: battery && battery.level >= 0 ? Math.round(battery.level * 100) : null,
  };
  return { fix, charging: battery?.is_charging ?? null };
}

/** The fix of the query form (lat and lon, or `location`); undefined when they are out of range. */
function fixOfQuery(
  q: z.infer<typeof osmandQuery>,
  now: number,
): { fix: OsmandFix; charging: boolean | null } | undefined {
  const [lat, lon] =
    q.lat !== undefined && q.lon !== undefined ? [q.lat, q.lon] : (q.location ?? "").split(",").map(Number);
  if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  const heading = q.bearing ?? q.heading;
  const fix: OsmandFix = {
    time: q.timestamp ?? now,
    lat,
    lon,
    // hdop is a dilution of precision, not metres: it stays in the raw log as hdop.
    accuracyM: storableReal(q.accuracy),
    speedMps: q.speed !== undefined ? storableReal(q.speed * KNOTS_TO_MPS) : null,
    headingDeg: heading !== undefined ? storableHeading(heading % 360) : null,
    altitudeM: storableReal(q.altitude),
    source: "gps",
    batteryPct: q.batt ?? null,
  };
  return { fix, charging: q.charge !== undefined ? q.charge === "true" : null };
}

/** A refused time as the reason's detail says it: ISO where a Date holds it (1e17 ms throws there). */
function instantText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms since 1970` : d.toISOString();
}

/**
 * The decision for an authenticated request: `serial` is the device the identifier was issued to
 * (resolved by the HTTP edge), never anything the request says about itself.
 */
export function osmandDecision(
  request: OsmandRequest,
  serial: string,
  now: number,
  lookup: DeviceLookup,
): Decision {
  const payload = Buffer.from(request.payloadText, "utf8");
  const device = lookup(serial);
  const reject = (reason: DeadLetterReason, detail: string | null = null) =>
    deadLetter({ now, transport: "http", topic: OSMAND_TOPIC, payload, device, reason, detail });
  if (!device) return reject("unknown_device", "id: no active OsmAnd device has this identifier");

  let fix: OsmandFix;
  let charging: boolean | null = null;
  if (request.invalidJson !== undefined) return reject("invalid_json", `body: ${request.invalidJson}`);
  if (request.json !== undefined) {
    const r = osmandJson.safeParse(request.json);
    if (!r.success) return reject("invalid_message", issues(r.error));
    ({ fix, charging } = fixOfJson(r.data.location));
  } else {
    const single = singleValues(request.fields);
    if (!single.ok) return reject("invalid_message", single.detail);
    const located =
      request.fields.has("location") || (request.fields.has("lat") && request.fields.has("lon"));
    if (!located && (request.fields.has("cell") || request.fields.has("wifi"))) {
      return networkOnly(request, single.values, now, device, reject);
    }
    const r = osmandQuery.safeParse(single.values);
    if (!r.success) return reject("invalid_message", issues(r.error));
    const fromQuery = fixOfQuery(r.data, now);
    if (!fromQuery) return reject("invalid_message", "location: latitude or longitude out of range");
    ({ fix, charging } = fromQuery);
  }
  if (!Number.isFinite(fix.time)) return reject("invalid_message", "timestamp: not a time");
  const problem = checkDeviceTime(fix.time, now);
  if (problem) {
    return reject(
      problem === "before_2000" ? "timestamp_before_2000" : "timestamp_in_future",
      `timestamp: ${instantText(fix.time)}`,
    );
  }
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
      payloadText: request.logJson,
    },
    seen: { at: now, online: true, batteryPct: fix.batteryPct, charging, reportedConfig: null },
  };
}

/**
 * Cells and access points without coordinates: kept in the raw log (`device_messages`, kind
 * `osmand_network`, with every `cell` and `wifi` value) with no position, and the device heard from.
 * Vakt does not locate by network, so nothing appears on a map.
 */
function networkOnly(
  request: OsmandRequest,
  values: Record<string, string>,
  now: number,
  device: NonNullable<ReturnType<DeviceLookup>>,
  reject: (reason: DeadLetterReason, detail: string | null) => Decision,
): Decision {
  const r = osmandNetworkQuery.safeParse({
    ...values,
    cell: request.fields.get("cell") ?? [],
    wifi: request.fields.get("wifi") ?? [],
  });
  if (!r.success) return reject("invalid_message", issues(r.error));
  const time = r.data.timestamp ?? now;
  const problem = checkDeviceTime(time, now);
  if (problem) {
    return reject(
      problem === "before_2000" ? "timestamp_before_2000" : "timestamp_in_future",
      `timestamp: ${instantText(time)}`,
    );
  }
  const batteryPct = r.data.batt ?? null;
  return {
    kind: "store",
    device,
    uplink: "status",
    status: null,
    alarm: null,
    positions: [],
    raw: {
      time,
      deviceId: device.id,
      organisationId: device.organisationId,
      topic: OSMAND_TOPIC,
      messageId: `osmand-network-${time}`,
      kind: "osmand_network",
      payloadText: request.logJson,
    },
    seen: {
      at: now,
      online: true,
      batteryPct,
      charging: r.data.charge !== undefined ? r.data.charge === "true" : null,
      reportedConfig: null,
    },
  };
}
