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
import { roundHalfEven } from "./copy";
import type { PositionRow, RawMessageRow, StoreDecision } from "./decision";

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;

/** A growing buffer of one COPY's rows. */
class BinaryCopy {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  constructor() {
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags
    this.buf.writeInt32BE(0, 15); // header extension length
    this.at = 19;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  row(fields: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
  }

  null(): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
  }

  /** A JavaScript instant in milliseconds, as timestamptz. */
  time(ms: number): void {
    this.room(12);
    const us = (ms - PG_EPOCH_MS) * 1_000;
    const hi = Math.floor(us / TWO_32);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeInt32BE(hi, this.at);
    this.at = this.buf.writeUInt32BE(us - hi * TWO_32, this.at);
  }

  /** A uuid in its canonical text form (ids come from PostgreSQL, so always that form). */
  uuid(id: string): void {
    this.room(20);
    this.at = this.buf.writeInt32BE(16, this.at);
    this.buf.write(id.slice(0, 8), this.at, "hex");
    this.buf.write(id.slice(9, 13), this.at + 4, "hex");
    this.buf.write(id.slice(14, 18), this.at + 6, "hex");
    this.buf.write(id.slice(19, 23), this.at + 8, "hex");
    this.buf.write(id.slice(24, 36), this.at + 10, "hex");
    this.at += 16;
  }

  uuidOrNull(id: string | null): void {
    if (id === null) this.null();
    else this.uuid(id);
  }

  text(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.room(4 + n);
    this.at = this.buf.writeInt32BE(n, this.at);
    this.at += this.buf.write(s, this.at, "utf8");
  }

  bytes(b: Buffer): void {
    this.room(4 + b.length);
    this.at = this.buf.writeInt32BE(b.length, this.at);
    this.at += b.copy(this.buf, this.at);
  }

  float8(x: number): void {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(x + 0, this.at); // -0 as 0, as its text is
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
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeFloatBE(Math.fround(x) + 0, this.at);
  }

  int8(x: number): void {
    this.room(12);
    const hi = Math.floor(x / TWO_32);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeInt32BE(hi, this.at);
    this.at = this.buf.writeUInt32BE(x - hi * TWO_32, this.at);
  }

  int2OrNull(x: number | null): void {
    if (x === null || !Number.isFinite(x)) {
      this.null();
      return;
    }
    this.room(6);
    this.at = this.buf.writeInt32BE(2, this.at);
    this.at = this.buf.writeInt16BE(x, this.at);
  }

  done(): Buffer {
    this.room(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    return this.buf.subarray(0, this.at);
  }
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
  const c = new BinaryCopy();
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
  const c = new BinaryCopy();
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
  const c = new BinaryCopy();
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
  const c = new BinaryCopy();
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
