/**
 * The batch's plain rows: positions, the raw message log, statuses, dead
 * letters, uplink ids and each device's newest position. Every insert is
 * idempotent (ON CONFLICT DO NOTHING on the device's message id or fix time);
 * multi-row inserts use unnest() over arrays, one round trip per table.
 */
import type pg from "pg";
import { copyInto } from "./copy";
import type { DeadLetterRow, PositionRow, RawMessageRow, StatusRow, StoreDecision } from "./decide";
import { LATEST_UPSERT, ts } from "./sql";

/** The positions' columns, and the thirteen arrays from `$first` on that positionValues fills. */
export const POSITION_COLUMNS = `time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
  speed_mps, heading_deg, altitude_m, source, battery_percent`;
export const positionsFrom = (first: number) => {
  const $ = (i: number) => `$${first + i}`;
  return `unnest(${$(0)}::bigint[], ${$(1)}::uuid[], ${$(2)}::uuid[], ${$(3)}::uuid[], ${$(4)}::text[],
    ${$(5)}::float8[], ${$(6)}::float8[], ${$(7)}::real[], ${$(8)}::real[], ${$(9)}::real[], ${$(10)}::real[],
    ${$(11)}::text[], ${$(12)}::float8[]) AS u(t, dev, org, rec, mid, lat, lon, acc, spd, hdg, alt, src, bat)`;
};
/** positionsFrom's columns in POSITION_COLUMNS' order. */
export const POSITION_SELECT = `${ts("t")}, dev, org, rec, mid, lat, lon, acc, spd, hdg, alt, src, round(bat)::smallint`;
export function positionValues(rows: readonly PositionRow[]): unknown[] {
  return [
    rows.map((r) => r.time),
    rows.map((r) => r.deviceId),
    rows.map((r) => r.organisationId),
    rows.map((r) => r.recipientId),
    rows.map((r) => r.messageId),
    rows.map((r) => r.lat),
    rows.map((r) => r.lon),
    rows.map((r) => r.accuracyM),
    rows.map((r) => r.speedMps),
    rows.map((r) => r.headingDeg),
    rows.map((r) => r.altitudeM),
    rows.map((r) => r.source),
    rows.map((r) => r.batteryPct),
  ];
}

/** The raw log's insert over the seven arrays from `$first` on that rawValues fills. */
export const rawInsert = (first: number) => {
  const $ = (i: number) => `$${first + i}`;
  return `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind,
                               payload_text)
       SELECT ${ts("t")}, dev, org, 'uplink', topic, mid, kind, payload
       FROM unnest(${$(0)}::bigint[], ${$(1)}::uuid[], ${$(2)}::uuid[], ${$(3)}::text[], ${$(4)}::text[],
                   ${$(5)}::text[], ${$(6)}::text[]) AS u(t, dev, org, topic, mid, kind, payload)`;
};
export function rawValues(raws: readonly RawMessageRow[]): unknown[] {
  return [
    raws.map((r) => r.time),
    raws.map((r) => r.deviceId),
    raws.map((r) => r.organisationId),
    raws.map((r) => r.topic),
    raws.map((r) => r.messageId),
    raws.map((r) => r.kind),
    raws.map((r) => r.payloadText),
  ];
}

/** The statuses' insert over the nine arrays from `$first` on that statusValues fills. */
export const statusInsert = (first: number) => {
  const $ = (i: number) => `$${first + i}`;
  return `INSERT INTO device_status (time, device_id, organisation_id, message_id, battery_percent, charging,
                                signal_dbm, firmware, reported_config)
     SELECT ${ts("t")}, dev, org, mid, round(bat)::smallint, chg, sig, fw, cfg::jsonb
     FROM unnest(${$(0)}::bigint[], ${$(1)}::uuid[], ${$(2)}::uuid[], ${$(3)}::text[], ${$(4)}::float8[],
                 ${$(5)}::boolean[], ${$(6)}::smallint[], ${$(7)}::text[], ${$(8)}::text[])
          AS u(t, dev, org, mid, bat, chg, sig, fw, cfg)`;
};
export function statusValues(rows: readonly StatusRow[]): unknown[] {
  return [
    rows.map((r) => r.time),
    rows.map((r) => r.deviceId),
    rows.map((r) => r.organisationId),
    rows.map((r) => r.messageId),
    rows.map((r) => r.batteryPct),
    rows.map((r) => r.charging),
    rows.map((r) => r.signalDbm),
    rows.map((r) => r.firmware),
    rows.map((r) => (r.reportedConfig ? JSON.stringify(r.reportedConfig) : null)),
  ];
}

export async function insertUplinkIds(
  client: pg.ClientBase,
  stores: StoreDecision[],
  shas: Buffer[],
): Promise<void> {
  const devices: string[] = [];
  const ids: string[] = [];
  const hashes: Buffer[] = [];
  stores.forEach((s, i) => {
    if (s.alarm) return;
    devices.push(s.device.id);
    ids.push(s.raw.messageId);
    hashes.push(shas[i] as Buffer);
  });
  if (devices.length === 0) return;
  await client.query({
    name: "vakt_ingest_uplink_ids",
    text: `INSERT INTO uplink_ids (device_id, message_id, payload_sha256)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[]) ON CONFLICT DO NOTHING`,
    values: [devices, ids, hashes],
  });
}

export async function insertDeadLetters(
  client: Pick<pg.ClientBase, "query">,
  rows: DeadLetterRow[],
): Promise<void> {
  // A redelivered message (MQTT DUP) whose dead letter is already here was committed by a process
  // that died before its PUBACK: store it once. Without the flag, an equal payload is a new message.
  await client.query({
    name: "vakt_ingest_dead_letters",
    text: `INSERT INTO dead_letters (received_at, transport, topic, organisation_id, device_id, reason, detail,
                               payload_excerpt, payload_bytes, payload_sha256, payload)
     SELECT ${ts("r")}, tr, tp, org, dev, reason, detail, excerpt, bytes, sha, raw
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
                 $8::text[], $9::int[], $10::text[], $11::boolean[], $12::bytea[])
          AS u(r, tr, tp, org, dev, reason, detail, excerpt, bytes, sha, redelivered, raw)
     WHERE NOT (u.redelivered AND EXISTS (
       SELECT 1 FROM dead_letters d
        WHERE d.topic = u.tp AND d.payload_sha256 = u.sha
          AND d.received_at > ${ts("u.r")} - interval '1 day'))`,
    values: [
      rows.map((r) => r.receivedAt),
      rows.map((r) => r.transport),
      rows.map((r) => r.topic),
      rows.map((r) => r.organisationId),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.reason),
      rows.map((r) => r.detail),
      rows.map((r) => r.payloadExcerpt),
      rows.map((r) => r.payloadBytes),
      rows.map((r) => r.payloadSha256),
      rows.map((r) => r.redelivered === true),
      rows.map((r) => r.payload),
    ],
  });
}

export async function insertPositionsStaged(client: pg.ClientBase, rows: PositionRow[]): Promise<number> {
  await copyInto(
    client,
    "stage_positions",
    rows.map((r) => [
      r.time,
      r.deviceId,
      r.organisationId,
      r.recipientId,
      r.messageId,
      r.lat,
      r.lon,
      r.accuracyM,
      r.speedMps,
      r.headingDeg,
      r.altitudeM,
      r.source,
      r.batteryPct,
    ]),
  );
  const result = await client.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
                            speed_mps, heading_deg, altitude_m, source, battery_percent)
     SELECT ${ts("t")}, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m, speed_mps,
            heading_deg, altitude_m, source, round(battery)::smallint
     FROM stage_positions
     ON CONFLICT DO NOTHING`,
  );
  return result.rowCount ?? 0;
}

/** The newest fix per device, sorted by device so concurrent batches lock rows in one order (no deadlocks). */
export function newestPerDevice(rows: PositionRow[]): PositionRow[] {
  const newest = new Map<string, PositionRow>();
  for (const r of rows) {
    const seen = newest.get(r.deviceId);
    if (!seen || r.time > seen.time) newest.set(r.deviceId, r);
  }
  return [...newest.values()].sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
  );
}

export async function upsertLatestPositions(client: pg.ClientBase, rows: PositionRow[]): Promise<void> {
  const latest = newestPerDevice(rows);
  // A redelivered or late batch never moves a device back to an older fix.
  await client.query({
    name: "vakt_ingest_latest_positions",
    text: `INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps,
                                   heading_deg, source, battery_percent)
     SELECT ${ts("t")}, dev, org, rec, lat, lon, acc, spd, hdg, src, round(bat)::smallint
     FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::float8[], $6::float8[], $7::real[],
                 $8::real[], $9::real[], $10::text[], $11::float8[])
          AS u(t, dev, org, rec, lat, lon, acc, spd, hdg, src, bat) ${LATEST_UPSERT}`,
    values: [
      latest.map((r) => r.time),
      latest.map((r) => r.deviceId),
      latest.map((r) => r.organisationId),
      latest.map((r) => r.recipientId),
      latest.map((r) => r.lat),
      latest.map((r) => r.lon),
      latest.map((r) => r.accuracyM),
      latest.map((r) => r.speedMps),
      latest.map((r) => r.headingDeg),
      latest.map((r) => r.source),
      latest.map((r) => r.batteryPct),
    ],
  });
}

export async function insertStatuses(client: pg.ClientBase, rows: StatusRow[]): Promise<void> {
  await client.query({
    name: "vakt_ingest_device_status",
    text: `${statusInsert(1)} ON CONFLICT DO NOTHING`,
    values: statusValues(rows),
  });
}

export async function insertRawMessagesStaged(client: pg.ClientBase, rows: RawMessageRow[]): Promise<void> {
  await copyInto(
    client,
    "stage_messages",
    rows.map((r) => [r.time, r.deviceId, r.organisationId, r.topic, r.messageId, r.kind, r.payloadText]),
  );
  await client.query(
    `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
     SELECT ${ts("t")}, device_id, organisation_id, 'uplink', topic, message_id, kind, payload
     FROM stage_messages
     ON CONFLICT DO NOTHING`,
  );
}

/** Small batches: positions and the raw log in one statement (multi-row INSERTs over unnest). */
export async function insertPositionsAndRaw(
  client: pg.ClientBase,
  rows: PositionRow[],
  raws: RawMessageRow[],
): Promise<number> {
  const result = await client.query<{ n: number }>({
    name: "vakt_ingest_positions_and_raw",
    text: `WITH p AS (
       INSERT INTO positions (${POSITION_COLUMNS}) SELECT ${POSITION_SELECT} FROM ${positionsFrom(1)}
       ON CONFLICT DO NOTHING
       RETURNING 1
     ), m AS (${rawInsert(14)} ON CONFLICT DO NOTHING)
     SELECT count(*)::int AS n FROM p`,
    values: [...positionValues(rows), ...rawValues(raws)],
  });
  return result.rows[0]?.n ?? 0;
}
