/**
 * COPY's binary format for the bulk path's four COPYs (positions, the raw log, the uplink ids and
 * the latest-position staging). Text COPY makes PostgreSQL parse every timestamp, uuid and number
 * from characters, once per row and table; binary hands it the values as stored, and sends a uuid
 * in 16 bytes instead of 36 (issue #20 item 2: PostgreSQL's CPU per stored position).
 *
 * The format (PostgreSQL docs, "COPY ... Binary Format"): a signature and two zero words, then per
 * row a field count and per field its byte length (-1 for NULL) and bytes in network order, then a
 * -1 trailer. timestamptz is microseconds since 2000-01-01 UTC as int64.
 */
import type { PositionRow, RawMessageRow, StoreDecision } from "./decision";

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;
/** The most a fixed-size field takes (a uuid: length and 16 bytes); a row reserves this per field. */
const FIXED_FIELD_MAX = 20;

/** Ids repeat (a batch holds a few devices and one organisation): each is parsed from hex once. */
const uuidBytes = new Map<string, Uint8Array>();
const UUID_CACHE_MAX = 100_000;

function bytesOfUuid(id: string): Uint8Array {
  let b = uuidBytes.get(id);
  if (b === undefined) {
    b = Buffer.from(id.replaceAll("-", ""), "hex");
    if (b.length !== 16) throw new TypeError(`not a uuid: ${id}`);
    if (uuidBytes.size >= UUID_CACHE_MAX) uuidBytes.clear();
    uuidBytes.set(id, b);
  }
  return b;
}

/**
 * A growing buffer of one COPY's rows. Numbers go through a DataView (network order is its
 * default); a row reserves room for its fixed-size fields once, text and bytes reserve their own.
 */
class BinaryCopy {
  private buf: Buffer;
  private view: DataView;
  private at = 0;

  /** `bytes`: what the rows are expected to take, so the buffer is allocated once, not regrown. */
  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, bytes + 64));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.buf.set(SIGNATURE, 0);
    this.view.setInt32(11, 0); // flags
    this.view.setInt32(15, 0); // header extension length
    this.at = 19;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at), 0);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  row(fields: number): void {
    this.room(2 + fields * FIXED_FIELD_MAX);
    this.view.setInt16(this.at, fields);
    this.at += 2;
  }

  null(): void {
    this.view.setInt32(this.at, -1);
    this.at += 4;
  }

  /** A JavaScript instant in milliseconds, as timestamptz. */
  time(ms: number): void {
    this.int8((ms - PG_EPOCH_MS) * 1_000);
  }

  /** A uuid in its canonical text form (ids come from PostgreSQL, so always that form). */
  uuid(id: string): void {
    this.view.setInt32(this.at, 16);
    this.buf.set(bytesOfUuid(id), this.at + 4);
    this.at += 20;
  }

  uuidOrNull(id: string | null): void {
    if (id === null) this.null();
    else this.uuid(id);
  }

  text(s: string): void {
    // At most 3 bytes of UTF-8 per UTF-16 unit; the length is written once the text is.
    this.room(4 + s.length * 3);
    const start = this.at + 4;
    let n = 0;
    if (s.length <= 64) {
      // Short texts (ids, topics, kinds) are nearly always ASCII: byte by byte beats Buffer.write's call.
      for (; n < s.length; n++) {
        const c = s.charCodeAt(n);
        if (c >= 0x80) break;
        this.buf[start + n] = c;
      }
    }
    if (n < s.length) n = this.buf.write(s, start, "utf8");
    this.view.setInt32(this.at, n);
    this.at = start + n;
  }

  bytes(b: Uint8Array): void {
    this.room(4 + b.length);
    this.view.setInt32(this.at, b.length);
    this.buf.set(b, this.at + 4);
    this.at += 4 + b.length;
  }

  float8(x: number): void {
    this.view.setInt32(this.at, 8);
    this.view.setFloat64(this.at + 4, x + 0); // -0 as 0, as its text is
    this.at += 12;
  }

  /** NULL for null and for what is not finite, as the text path does. */
  float8OrNull(x: number | null): void {
    if (x === null || !Number.isFinite(x)) this.null();
    else this.float8(x);
  }

  float4OrNull(x: number | null): void {
    if (x === null || !Number.isFinite(x)) {
      this.null();
      return;
    }
    this.view.setInt32(this.at, 4);
    this.view.setFloat32(this.at + 4, Math.fround(x) + 0);
    this.at += 8;
  }

  int8(x: number): void {
    const hi = Math.floor(x / TWO_32);
    this.view.setInt32(this.at, 8);
    this.view.setInt32(this.at + 4, hi);
    this.view.setUint32(this.at + 8, x - hi * TWO_32);
    this.at += 12;
  }

  int2OrNull(x: number | null): void {
    if (x === null || !Number.isFinite(x)) {
      this.null();
      return;
    }
    this.view.setInt32(this.at, 2);
    this.view.setInt16(this.at + 4, x);
    this.at += 6;
  }

  done(): Buffer {
    this.room(2);
    this.view.setInt16(this.at, -1);
    return this.buf.subarray(0, this.at);
  }
}

/** PostgreSQL's round() of a float8 (rint: halves to even), for columns COPY fills directly. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const POSITIONS_COPY_BINARY = `COPY positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon,
  accuracy_m, speed_mps, heading_deg, altitude_m, source, battery_percent) FROM STDIN (FORMAT binary)`;
export const MESSAGES_COPY_BINARY =
  "COPY device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text) FROM STDIN (FORMAT binary)";
export const UPLINK_IDS_COPY_BINARY =
  "COPY uplink_ids (device_id, message_id, payload_sha256) FROM STDIN (FORMAT binary)";
export const LATEST_COPY_BINARY = `COPY stage_latest (t, device_id, organisation_id, recipient_id, lat, lon, accuracy_m,
  speed_mps, heading_deg, source, battery) FROM STDIN (FORMAT binary)`;

export function positionsBinary(rows: readonly PositionRow[]): Buffer {
  const c = new BinaryCopy(rows.length * 200);
  for (const r of rows) {
    c.row(13);
    c.time(r.time);
    c.uuid(r.deviceId);
    c.uuid(r.organisationId);
    c.uuidOrNull(r.recipientId);
    c.text(r.messageId);
    c.float8OrNull(r.lat);
    c.float8OrNull(r.lon);
    c.float4OrNull(r.accuracyM);
    c.float4OrNull(r.speedMps);
    c.float4OrNull(r.headingDeg);
    c.float4OrNull(r.altitudeM);
    c.text(r.source);
    c.int2OrNull(r.batteryPct === null ? null : roundHalfEven(r.batteryPct));
  }
  return c.done();
}

export function messagesBinary(rows: readonly RawMessageRow[]): Buffer {
  let bytes = 0;
  for (const r of rows) bytes += 150 + r.topic.length + r.payloadText.length;
  const c = new BinaryCopy(bytes);
  for (const r of rows) {
    c.row(8);
    c.time(r.time);
    c.uuid(r.deviceId);
    c.uuid(r.organisationId);
    c.text("uplink");
    c.text(r.topic);
    c.text(r.messageId);
    c.text(r.kind);
    c.text(r.payloadText);
  }
  return c.done();
}

/** Alarms are keyed by their own unique index (alarms.device_message_id), not here; null when none is left. */
export function uplinkIdsBinary(stores: readonly StoreDecision[], shas: readonly Buffer[]): Buffer | null {
  const c = new BinaryCopy(stores.length * 140);
  let any = false;
  for (let i = 0; i < stores.length; i++) {
    const s = stores[i] as StoreDecision;
    if (s.alarm) continue;
    any = true;
    c.row(3);
    c.uuid(s.device.id);
    c.text(s.raw.messageId);
    c.bytes(shas[i] as Buffer);
  }
  return any ? c.done() : null;
}

export function latestBinary(rows: readonly PositionRow[]): Buffer {
  const c = new BinaryCopy(rows.length * 180);
  for (const r of rows) {
    c.row(11);
    c.int8(r.time);
    c.uuid(r.deviceId);
    c.uuid(r.organisationId);
    c.uuidOrNull(r.recipientId);
    c.float8OrNull(r.lat);
    c.float8OrNull(r.lon);
    c.float4OrNull(r.accuracyM);
    c.float4OrNull(r.speedMps);
    c.float4OrNull(r.headingDeg);
    c.text(r.source);
    c.float8OrNull(r.batteryPct);
  }
  return c.done();
}
