/**
 * A fast path for the message ingest sees most: a position with one fix or a
 * batch of fixes, exactly the contract's shape, every value in range. It
 * answers only "certainly valid" (returning the parsed message, as
 * `positionMessage.parse` would) or "ask zod" (undefined): anything unusual
 * (an unknown key, a null, a value out of range, a wrong type) goes to the
 * schema, which decides and explains. `fast-position.test.ts` checks, over
 * arbitrary inputs, that it never accepts what the schema refuses and that
 * what it returns equals the schema's output.
 */
import { EARLIEST_DEVICE_TIME_MS, type PositionMessage } from "@vakt/schemas";

/** `epochMs`'s upper bound in @vakt/schemas (common.ts). */
const LATEST_DEVICE_TIME_MS = Date.UTC(2100, 0, 1);
const MESSAGE_ID = /^[A-Za-z0-9._:-]+$/;
const SOURCES = new Set(["gps", "wifi", "cell", "other"]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

const inRange = (v: unknown, min: number, max: number): boolean =>
  typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;

/** An optional number: absent, or a finite number in range. */
const optionalInRange = (o: Record<string, unknown>, key: string, min: number, max: number): boolean =>
  !(key in o) || inRange(o[key], min, max);

const FIX_KEYS = new Set([
  "t",
  "lat",
  "lon",
  "accM",
  "speedMps",
  "headingDeg",
  "altM",
  "source",
  "batteryPct",
]);

function isFix(v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  for (const key of Object.keys(v)) if (!FIX_KEYS.has(key)) return false;
  const t = v.t;
  if (
    typeof t !== "number" ||
    !Number.isSafeInteger(t) ||
    t < EARLIEST_DEVICE_TIME_MS ||
    t > LATEST_DEVICE_TIME_MS
  )
    return false;
  if (!inRange(v.lat, -90, 90) || !inRange(v.lon, -180, 180)) return false;
  if (!optionalInRange(v, "accM", 0, 100_000) || !optionalInRange(v, "speedMps", 0, 350)) return false;
  if ("headingDeg" in v && !(inRange(v.headingDeg, 0, 360) && (v.headingDeg as number) < 360)) return false;
  if (!optionalInRange(v, "altM", -1_000, 20_000) || !optionalInRange(v, "batteryPct", 0, 100)) return false;
  if ("source" in v && !(typeof v.source === "string" && SOURCES.has(v.source))) return false;
  return true;
}

/** The schema's default, applied once every fix has passed. */
function withDefaults(fix: Record<string, unknown>): void {
  if (!("source" in fix)) fix.source = "gps";
}

/** The parsed position message if it is certainly valid; otherwise undefined (let the schema decide). */
export function fastPositionMessage(json: unknown): PositionMessage | undefined {
  if (!isObject(json)) return undefined;
  const keys = Object.keys(json);
  if (keys.length !== 3 || json.v !== 1) return undefined;
  const id = json.id;
  if (typeof id !== "string" || id.length < 1 || id.length > 64 || !MESSAGE_ID.test(id)) return undefined;
  if (Object.hasOwn(json, "fix")) {
    const fix = json.fix;
    if (!isFix(fix)) return undefined;
    withDefaults(fix);
    return json as unknown as PositionMessage;
  }
  if (Object.hasOwn(json, "fixes")) {
    const fixes = json.fixes;
    if (!Array.isArray(fixes) || fixes.length < 1 || fixes.length > 100) return undefined;
    for (const f of fixes) if (!isFix(f)) return undefined;
    for (const f of fixes) withDefaults(f);
    return json as unknown as PositionMessage;
  }
  return undefined;
}
