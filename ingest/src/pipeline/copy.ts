/**
 * COPY text format: the encoding of batch rows as COPY text, the COPY
 * statements, and the per-connection staging tables. Large batches COPY
 * straight into their tables (the unique keys turn a redelivery into an error,
 * after which the batch goes through staging: COPY into a temporary table,
 * then INSERT ... SELECT ... ON CONFLICT DO NOTHING). `stage_latest` carries
 * each device's newest fix to the upsert of `latest_positions`. Staging tables
 * are temporary (ON COMMIT DELETE ROWS); the DDL runs in a batch's
 * transaction until that transaction has committed on the connection, because
 * a table created in a transaction that rolled back is gone again.
 */
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { PositionRow, RawMessageRow, StoreDecision } from "./decide";

/** The staging tables' DDL, run at the start of a connection's first bulk batch (see store.ts). */
export const STAGING_SQL = `
  CREATE TEMP TABLE IF NOT EXISTS stage_positions (
    t bigint, device_id uuid, organisation_id uuid, recipient_id uuid, message_id text,
    lat float8, lon float8, accuracy_m real, speed_mps real, heading_deg real, altitude_m real,
    source text, battery float8
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_messages (
    t bigint, device_id uuid, organisation_id uuid, topic text, message_id text, kind text, payload text
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_latest (
    t bigint, device_id uuid, organisation_id uuid, recipient_id uuid, lat float8, lon float8,
    accuracy_m real, speed_mps real, heading_deg real, source text, battery float8
  ) ON COMMIT DELETE ROWS;`;

/** One value in COPY's text format. */
export function copyValue(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "\\N";
  if (typeof v === "boolean") return v ? "t" : "f";
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}

/** One COPY ... FROM STDIN of ready-made COPY text (rows ending in newlines); resolves to the row count. */
export function copyText(client: pg.ClientBase, sql: string, text: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.once("error", reject);
    stream.once("finish", () => resolve(stream.rowCount));
    stream.end(text);
  });
}

export async function copyInto(
  client: pg.ClientBase,
  table: string,
  rows: (string | number | boolean | null | undefined)[][],
): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} FROM STDIN`));
  async function* lines() {
    const chunk: string[] = [];
    for (const r of rows) {
      chunk.push(`${r.map(copyValue).join("\t")}\n`);
      if (chunk.length >= 2_000) yield chunk.splice(0).join("");
    }
    if (chunk.length > 0) yield chunk.join("");
  }
  await pipeline(lines, stream);
}

export const POSITIONS_COPY = `COPY positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
  speed_mps, heading_deg, altitude_m, source, battery_percent) FROM STDIN`;
export const MESSAGES_COPY =
  "COPY device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text) FROM STDIN";
export const LATEST_COPY = `COPY stage_latest (t, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps,
  heading_deg, source, battery) FROM STDIN`;
export const UPLINK_IDS_COPY = "COPY uplink_ids (device_id, message_id, payload_sha256) FROM STDIN";

/** Alarms are keyed by their own unique index (alarms.device_message_id), not here. */
export function uplinkIdLines(stores: StoreDecision[], shas: Buffer[]): string {
  let out = "";
  for (let i = 0; i < stores.length; i++) {
    const s = stores[i] as StoreDecision;
    if (s.alarm) continue;
    out += `${s.device.id}\t${copyValue(s.raw.messageId)}\t\\\\x${(shas[i] as Buffer).toString("hex")}\n`;
  }
  return out;
}

/** PostgreSQL's round() of a float8 (rint: halves to even), for columns COPY fills directly. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? "\\N" : String(v));
/** `new Date(t).toISOString()` without a Date per call: the day's prefix is cached, the rest is arithmetic. */
let isoDay = Number.NaN;
let isoPrefix = "";
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
export function iso(t: number): string {
  const day = Math.floor(t / 86_400_000);
  if (day !== isoDay) {
    isoDay = day;
    isoPrefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
  }
  let ms = t - day * 86_400_000;
  const h = Math.floor(ms / 3_600_000);
  ms -= h * 3_600_000;
  const m = Math.floor(ms / 60_000);
  ms -= m * 60_000;
  const sec = Math.floor(ms / 1_000);
  ms -= sec * 1_000;
  return `${isoPrefix}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${pad3(ms)}Z`;
}

export function positionLines(rows: PositionRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${iso(r.time)}\t${r.deviceId}\t${r.organisationId}\t${r.recipientId ?? "\\N"}\t${copyValue(r.messageId)}\t${num(r.lat)}\t${num(r.lon)}\t${num(r.accuracyM)}\t${num(r.speedMps)}\t${num(r.headingDeg)}\t${num(r.altitudeM)}\t${copyValue(r.source)}\t${r.batteryPct === null ? "\\N" : num(roundHalfEven(r.batteryPct))}\n`;
  }
  return out;
}

export function messageLines(rows: RawMessageRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${iso(r.time)}\t${r.deviceId}\t${r.organisationId}\tuplink\t${copyValue(r.topic)}\t${copyValue(r.messageId)}\t${copyValue(r.kind)}\t${copyValue(r.payloadText)}\n`;
  }
  return out;
}

export function latestLines(rows: PositionRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${r.time}\t${r.deviceId}\t${r.organisationId}\t${r.recipientId ?? "\\N"}\t${num(r.lat)}\t${num(r.lon)}\t${num(r.accuracyM)}\t${num(r.speedMps)}\t${num(r.headingDeg)}\t${copyValue(r.source)}\t${num(r.batteryPct)}\n`;
  }
  return out;
}
