/**
 * Turns a batch of decisions into rows, in one transaction on the client it is
 * given. Every insert is idempotent (ON CONFLICT DO NOTHING on the device's
 * message id or fix time), so a batch the broker redelivers after a crash
 * stores nothing twice. Multi-row inserts use unnest() over arrays: one round
 * trip per table, whatever the batch size.
 */
import { EVENTS_CHANNEL, type PlatformEvent } from "@vakt/schemas";
import type pg from "pg";
import { copyInto, copyText, copyValue, STAGING_SQL } from "./copy";
import type {
  DeadLetterRow,
  DeviceAlarm,
  DeviceRef,
  DeviceSeen,
  PositionRow,
  RawMessageRow,
  StatusRow,
  StoreDecision,
} from "./decide";
import { classify, payloadSha256, type Refused, refuse } from "./idempotency";

export type AckStatus = "received" | "cancelled";

/** An alarm the batch stored (or found already stored): the device is told after commit. */
export interface AlarmOutcome {
  device: DeviceRef;
  messageId: string;
  alarmId: string;
  created: boolean;
  ackStatus: AckStatus;
}

export interface BatchInput {
  stores: StoreDecision[];
  deadLetters: DeadLetterRow[];
  /** Batches with at least this many rows go through staging + COPY (default 64; Infinity: never). */
  copyMinRows?: number;
  /** Which per-device updates to write (default all); see DeviceRowThrottle. */
  deviceFilter?: (update: DeviceUpdate) => boolean;
  /** Stores the broker marked as sent before (MQTT DUP): a conflict dead letter of theirs may be stored already. */
  redelivered?: ReadonlySet<StoreDecision>;
}

export interface BatchResult {
  alarms: AlarmOutcome[];
  /** The device rows this batch updated. */
  devicesWritten: DeviceUpdate[];
  positionsInserted: number;
  events: number;
  /** Messages the batch held that turned out to conflict with what is stored: stored as these dead letters. */
  refused: Refused[];
}

/** Below this many rows a plain multi-row INSERT beats COPY (fewer round trips). */
const COPY_THRESHOLD = 64;

const ts = (col: string) => `timestamptz 'epoch' + ${col} * interval '1 millisecond'`;

/** Connections whose staging tables exist: created in a transaction of theirs that committed. */
const staged = new WeakSet<pg.ClientBase>();

/**
 * Writes a batch in one transaction on a connection of its own and commits it.
 *
 * Large batches take few round trips: BEGIN (with the staging DDL on a new
 * connection, and a savepoint); COPY of the positions and of the raw log
 * straight into their tables; status, alarm and device rows; COPY of each
 * device's newest fix into `stage_latest`; and one last round trip that
 * upserts `latest_positions` from it and commits. The row locks on
 * `latest_positions` are so held only for the length of that last statement
 * and the commit. A redelivered message makes the straight COPY fail on a
 * unique key; the batch then rolls back to the savepoint and goes through
 * staging with ON CONFLICT DO NOTHING, storing nothing twice.
 */
export async function commitBatch(pool: pg.Pool, batch: BatchInput): Promise<BatchResult> {
  const only = batch.stores[0];
  if (
    batch.stores.length === 1 &&
    batch.deadLetters.length === 0 &&
    only?.alarm &&
    only.alarm.cancels === null &&
    only.status === null
  ) {
    return commitDeviceAlarm(pool, only, batch.deviceFilter, batch.redelivered?.has(only) === true);
  }
  const all = rowsOfStores(batch.stores);
  const shas = batch.stores.map(payloadSha256);
  const copyMin = batch.copyMinRows ?? COPY_THRESHOLD;
  const bulk = all.positions.length + all.raws.length >= copyMin;
  const client = await pool.connect();
  let createsStaging = false;
  let broken: Error | undefined;
  try {
    let begin = "BEGIN";
    if (bulk) {
      createsStaging = !staged.has(client);
      begin = `BEGIN;${createsStaging ? STAGING_SQL : ""} SAVEPOINT straight_copy`;
    }
    await client.query(begin);
    let events = 0;
    let positionsInserted = 0;
    let stores = batch.stores;
    let rows = all;
    let refused: Refused[] = [];
    let careful = !bulk;
    if (bulk) {
      try {
        if (all.positions.length > 0)
          positionsInserted = await copyText(client, POSITIONS_COPY, positionLines(all.positions));
        if (all.raws.length > 0) await copyText(client, MESSAGES_COPY, messageLines(all.raws));
        const idLines = uplinkIdLines(batch.stores, shas);
        if (idLines !== "") await copyText(client, UPLINK_IDS_COPY, idLines);
      } catch (err) {
        if ((err as { code?: unknown }).code !== "23505") throw err;
        // Something in the batch is stored already (a redelivery, or a reused id or fix time).
        await client.query("ROLLBACK TO SAVEPOINT straight_copy");
        careful = true;
      }
    }
    if (careful) {
      const c = await classify(client, batch.stores, shas);
      const fresh = new Set(c.fresh);
      stores = c.fresh;
      rows = rowsOfStores(stores);
      refused = c.refused;
      for (const r of refused) if (batch.redelivered?.has(r.decision)) r.row.redelivered = true;
      const freshShas = shas.filter((_, i) => fresh.has(batch.stores[i] as StoreDecision));
      if (bulk) {
        positionsInserted =
          rows.positions.length > 0 ? await insertPositionsStaged(client, rows.positions) : 0;
        if (rows.raws.length > 0) await insertRawMessagesStaged(client, rows.raws);
      } else if (rows.positions.length > 0 || rows.raws.length > 0) {
        positionsInserted = await insertPositionsAndRaw(client, rows.positions, rows.raws);
      }
      await insertUplinkIds(client, stores, freshShas);
    }
    const deadLetters = [...batch.deadLetters, ...refused.map((r) => r.row)];
    if (deadLetters.length > 0) await insertDeadLetters(client, deadLetters);
    if (rows.statuses.length > 0) await insertStatuses(client, rows.statuses);

    const alarms: AlarmOutcome[] = [];
    for (const s of stores) {
      if (!s.alarm) continue;
      const outcome = await storeDeviceAlarm(client, s);
      if (outcome) {
        alarms.push(outcome);
        if (outcome.created || outcome.ackStatus === "cancelled") events++;
      }
    }
    // Every message says the device was heard from, stored or refused.
    const devices = await updateDevices(client, batch.stores, batch.deviceFilter);
    events += devices.events;
    if (rows.positions.length === 0) {
      await client.query("COMMIT");
    } else if (bulk) {
      await copyText(client, LATEST_COPY, latestLines(newestPerDevice(rows.positions)));
      await client.query(`${LATEST_FROM_STAGE}; COMMIT`);
    } else {
      await upsertLatestPositions(client, rows.positions);
      await client.query("COMMIT");
    }
    if (createsStaging) staged.add(client);
    return { alarms, positionsInserted, events, devicesWritten: devices.written, refused };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    // A connection that failed (rather than a statement the database refused) is not reused.
    if (!isSqlState(err)) broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}

function rowsOfStores(stores: StoreDecision[]) {
  const positions: PositionRow[] = [];
  const statuses: StatusRow[] = [];
  const raws: RawMessageRow[] = [];
  for (const s of stores) {
    for (const p of s.positions) positions.push(p);
    if (s.status) statuses.push(s.status);
    raws.push(s.raw);
  }
  return { positions, statuses, raws };
}

const UPLINK_IDS_COPY = "COPY uplink_ids (device_id, message_id, payload_sha256) FROM STDIN";

/** Alarms are keyed by their own unique index (alarms.device_message_id), not here. */
function uplinkIdLines(stores: StoreDecision[], shas: Buffer[]): string {
  let out = "";
  for (let i = 0; i < stores.length; i++) {
    const s = stores[i] as StoreDecision;
    if (s.alarm) continue;
    out += `${s.device.id}\t${copyValue(s.raw.messageId)}\t\\\\x${(shas[i] as Buffer).toString("hex")}\n`;
  }
  return out;
}

async function insertUplinkIds(
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
  await client.query(
    `INSERT INTO uplink_ids (device_id, message_id, payload_sha256)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[]) ON CONFLICT DO NOTHING`,
    [devices, ids, hashes],
  );
}

/**
 * A device alarm on its own (the alarm lane): alarm, `raised` transition, NOTIFY, its fix as a
 * position and the newest position, the raw log and the device row, all in one statement, so
 * one round trip (an implicit transaction) stands between the alarm and its NOTIFY.
 */
async function commitDeviceAlarm(
  pool: pg.Pool,
  s: StoreDecision,
  filter: ((u: DeviceUpdate) => boolean) | undefined,
  redelivered: boolean,
): Promise<BatchResult> {
  const alarm = s.alarm as DeviceAlarm;
  const device = s.device;
  const update: DeviceUpdate = { device, seen: { ...s.seen } };
  const writeDevice = filter?.(update) ?? true;
  const rows = s.positions;
  const raw = s.raw;
  // Named: each connection parses and plans it once (it is long, and under load every millisecond counts).
  const result = await pool.query<{ n: number; alarm_id: string | null; device_changed: boolean }>({
    name: "vakt_ingest_device_alarm",
    text: `WITH ${ALARM_CTES}, u AS (
       SELECT * FROM unnest($15::bigint[], $16::float8[], $17::float8[], $18::real[], $19::real[], $20::real[],
                            $21::real[], $22::text[], $23::float8[])
              AS u(t, lat, lon, acc, spd, hdg, alt, src, bat)
     ), p AS (
       INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
                              speed_mps, heading_deg, altitude_m, source, battery_percent)
       SELECT ${ts("t")}, $3, $1, $4, $7, lat, lon, acc, spd, hdg, alt, src, round(bat)::smallint FROM u
       WHERE EXISTS (SELECT 1 FROM a)
       ON CONFLICT DO NOTHING
       RETURNING 1
     ), l AS (
       INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m,
                                     speed_mps, heading_deg, source, battery_percent)
       SELECT ${ts("t")}, $3, $1, $4, lat, lon, acc, spd, hdg, src, round(bat)::smallint
       FROM u WHERE EXISTS (SELECT 1 FROM a) ORDER BY t DESC LIMIT 1 ${LATEST_UPSERT}
     ), m AS (
       -- A redelivered alarm wrote these the first time; an alarm id reused for another alarm writes none.
       INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
       SELECT ${ts("$24::bigint")}, $3, $1, 'uplink', $25, $7, $26, $27::jsonb WHERE EXISTS (SELECT 1 FROM a)
       ON CONFLICT DO NOTHING
     ), prev AS (
       SELECT d.id, d.online, d.battery_percent, d.charging FROM devices d
       WHERE $28::boolean AND d.id = $3 FOR UPDATE
     ), upd AS (
       UPDATE devices d SET
         last_seen_at = CASE WHEN $29::bigint > 0 THEN GREATEST(d.last_seen_at, ${ts("$29::bigint")})
                             ELSE d.last_seen_at END,
         battery_percent = coalesce(round($30::float8)::smallint, d.battery_percent),
         charging = coalesce($31::boolean, d.charging),
         online = $32::boolean
       WHERE d.id IN (SELECT id FROM prev)
       RETURNING d.id, d.online, d.battery_percent, d.charging
     ), chg AS (
       SELECT upd.id FROM upd JOIN prev ON prev.id = upd.id
       WHERE prev.online IS DISTINCT FROM upd.online
          OR prev.battery_percent IS DISTINCT FROM upd.battery_percent
          OR prev.charging IS DISTINCT FROM upd.charging
     )
     SELECT (SELECT count(*) FROM p)::int AS n,
            (SELECT id FROM a) AS alarm_id,
            (SELECT pg_notify($14, ${ALARM_RAISED_EVENT}) FROM a) AS alarm_notified,
            (SELECT count(pg_notify($14, json_build_object(
               'kind', 'device.changed', 'organisationId', $1::uuid, 'departmentId', $2::uuid,
               'recipientId', $4::uuid, 'deviceId', $3::uuid)::text)) > 0 FROM chg) AS device_changed`,
    values: [
      ...alarmParams(device, alarm),
      rows.map((r) => r.time),
      rows.map((r) => r.lat),
      rows.map((r) => r.lon),
      rows.map((r) => r.accuracyM),
      rows.map((r) => r.speedMps),
      rows.map((r) => r.headingDeg),
      rows.map((r) => r.altitudeM),
      rows.map((r) => r.source),
      rows.map((r) => r.batteryPct),
      raw.time,
      raw.topic,
      raw.kind,
      raw.payloadText,
      writeDevice,
      update.seen.at,
      update.seen.batteryPct,
      update.seen.charging,
      update.seen.online,
    ],
  });
  const row = result.rows[0];
  const created = (row?.alarm_id ?? null) !== null;
  const common = {
    positionsInserted: row?.n ?? 0,
    events: (created ? 1 : 0) + (row?.device_changed ? 1 : 0),
    devicesWritten: writeDevice ? [update] : [],
  };
  const stored = created ? undefined : await storedAlarm(pool, device, alarm);
  if (stored && !stored.same) {
    const refused = refuse(
      s,
      "conflicting_message_id",
      `alarm id ${alarm.messageId} was used before for another alarm`,
    );
    if (redelivered) refused.row.redelivered = true;
    await insertDeadLetters(pool, [refused.row]);
    return { ...common, alarms: [], refused: [refused] };
  }
  const alarmId = row?.alarm_id ?? (stored as { id: string }).id;
  return {
    ...common,
    alarms: [{ device, messageId: alarm.messageId, alarmId, created, ackStatus: "received" }],
    refused: [],
  };
}

function isSqlState(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}

const POSITIONS_COPY = `COPY positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
  speed_mps, heading_deg, altitude_m, source, battery_percent) FROM STDIN`;
const MESSAGES_COPY =
  "COPY device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload) FROM STDIN";
const LATEST_COPY = `COPY stage_latest (t, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps,
  heading_deg, source, battery) FROM STDIN`;
const LATEST_UPSERT = `
  ON CONFLICT (device_id) DO UPDATE SET
    time = EXCLUDED.time, organisation_id = EXCLUDED.organisation_id, recipient_id = EXCLUDED.recipient_id,
    lat = EXCLUDED.lat, lon = EXCLUDED.lon, accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps,
    heading_deg = EXCLUDED.heading_deg, source = EXCLUDED.source, battery_percent = EXCLUDED.battery_percent
  WHERE latest_positions.time < EXCLUDED.time`;
/** Rows come sorted by device, so concurrent writers lock them in one order (no deadlocks). */
const LATEST_FROM_STAGE = `
  INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps,
                                heading_deg, source, battery_percent)
  SELECT ${ts("t")}, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps, heading_deg,
         source, round(battery)::smallint
  FROM stage_latest ORDER BY device_id ${LATEST_UPSERT}`;

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

function positionLines(rows: PositionRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${iso(r.time)}\t${r.deviceId}\t${r.organisationId}\t${r.recipientId ?? "\\N"}\t${copyValue(r.messageId)}\t${num(r.lat)}\t${num(r.lon)}\t${num(r.accuracyM)}\t${num(r.speedMps)}\t${num(r.headingDeg)}\t${num(r.altitudeM)}\t${copyValue(r.source)}\t${r.batteryPct === null ? "\\N" : num(roundHalfEven(r.batteryPct))}\n`;
  }
  return out;
}

function messageLines(rows: RawMessageRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${iso(r.time)}\t${r.deviceId}\t${r.organisationId}\tuplink\t${copyValue(r.topic)}\t${copyValue(r.messageId)}\t${copyValue(r.kind)}\t${copyValue(r.payloadText)}\n`;
  }
  return out;
}

function latestLines(rows: PositionRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${r.time}\t${r.deviceId}\t${r.organisationId}\t${r.recipientId ?? "\\N"}\t${num(r.lat)}\t${num(r.lon)}\t${num(r.accuracyM)}\t${num(r.speedMps)}\t${num(r.headingDeg)}\t${copyValue(r.source)}\t${num(r.batteryPct)}\n`;
  }
  return out;
}

async function insertDeadLetters(client: Pick<pg.ClientBase, "query">, rows: DeadLetterRow[]): Promise<void> {
  // A redelivered message (MQTT DUP) whose dead letter is already here was committed by a process
  // that died before its PUBACK: store it once. Without the flag, an equal payload is a new message.
  await client.query(
    `INSERT INTO dead_letters (received_at, transport, topic, organisation_id, device_id, reason, detail,
                               payload_excerpt, payload_bytes, payload_sha256, payload)
     SELECT ${ts("r")}, tr, tp, org, dev, reason, detail, excerpt, bytes, sha, raw
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
                 $8::text[], $9::int[], $10::text[], $11::boolean[], $12::bytea[])
          AS u(r, tr, tp, org, dev, reason, detail, excerpt, bytes, sha, redelivered, raw)
     WHERE NOT (u.redelivered AND EXISTS (
       SELECT 1 FROM dead_letters d
        WHERE d.topic = u.tp AND d.payload_sha256 = u.sha
          AND d.received_at > ${ts("u.r")} - interval '1 day'))`,
    [
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
  );
}

async function insertPositionsStaged(client: pg.ClientBase, rows: PositionRow[]): Promise<number> {
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

async function upsertLatestPositions(client: pg.ClientBase, rows: PositionRow[]): Promise<void> {
  const latest = newestPerDevice(rows);
  // A redelivered or late batch never moves a device back to an older fix.
  await client.query(
    `INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps,
                                   heading_deg, source, battery_percent)
     SELECT ${ts("t")}, dev, org, rec, lat, lon, acc, spd, hdg, src, round(bat)::smallint
     FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::float8[], $6::float8[], $7::real[],
                 $8::real[], $9::real[], $10::text[], $11::float8[])
          AS u(t, dev, org, rec, lat, lon, acc, spd, hdg, src, bat) ${LATEST_UPSERT}`,
    [
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
  );
}

async function insertStatuses(client: pg.ClientBase, rows: StatusRow[]): Promise<void> {
  await client.query(
    `INSERT INTO device_status (time, device_id, organisation_id, message_id, battery_percent, charging,
                                signal_dbm, firmware, reported_config)
     SELECT ${ts("t")}, dev, org, mid, round(bat)::smallint, chg, sig, fw, cfg::jsonb
     FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::text[], $5::float8[], $6::boolean[], $7::smallint[],
                 $8::text[], $9::text[]) AS u(t, dev, org, mid, bat, chg, sig, fw, cfg)
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.time),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.organisationId),
      rows.map((r) => r.messageId),
      rows.map((r) => r.batteryPct),
      rows.map((r) => r.charging),
      rows.map((r) => r.signalDbm),
      rows.map((r) => r.firmware),
      rows.map((r) => (r.reportedConfig ? JSON.stringify(r.reportedConfig) : null)),
    ],
  );
}

async function insertRawMessagesStaged(client: pg.ClientBase, rows: RawMessageRow[]): Promise<void> {
  await copyInto(
    client,
    "stage_messages",
    rows.map((r) => [r.time, r.deviceId, r.organisationId, r.topic, r.messageId, r.kind, r.payloadText]),
  );
  await client.query(
    `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
     SELECT ${ts("t")}, device_id, organisation_id, 'uplink', topic, message_id, kind, payload::jsonb
     FROM stage_messages
     ON CONFLICT DO NOTHING`,
  );
}

/** Small batches: positions and the raw log in one statement (multi-row INSERTs over unnest). */
async function insertPositionsAndRaw(
  client: pg.ClientBase,
  rows: PositionRow[],
  raws: RawMessageRow[],
): Promise<number> {
  const result = await client.query<{ n: number }>(
    `WITH p AS (
       INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
                              speed_mps, heading_deg, altitude_m, source, battery_percent)
       SELECT ${ts("t")}, dev, org, rec, mid, lat, lon, acc, spd, hdg, alt, src, round(bat)::smallint
       FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::float8[], $7::float8[],
                   $8::real[], $9::real[], $10::real[], $11::real[], $12::text[], $13::float8[])
            AS u(t, dev, org, rec, mid, lat, lon, acc, spd, hdg, alt, src, bat)
       ON CONFLICT DO NOTHING
       RETURNING 1
     ), m AS (
       INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
       SELECT ${ts("t")}, dev, org, 'uplink', topic, mid, kind, payload::jsonb
       FROM unnest($14::bigint[], $15::uuid[], $16::uuid[], $17::text[], $18::text[], $19::text[], $20::text[])
            AS u(t, dev, org, topic, mid, kind, payload)
       ON CONFLICT DO NOTHING
     )
     SELECT count(*)::int AS n FROM p`,
    [
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
      raws.map((r) => r.time),
      raws.map((r) => r.deviceId),
      raws.map((r) => r.organisationId),
      raws.map((r) => r.topic),
      raws.map((r) => r.messageId),
      raws.map((r) => r.kind),
      raws.map((r) => r.payloadText),
    ],
  );
  return result.rows[0]?.n ?? 0;
}

export async function notify(client: pg.ClientBase, event: PlatformEvent): Promise<void> {
  await client.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify(event)]);
}

function scopeOf(device: DeviceRef) {
  return {
    organisationId: device.organisationId,
    departmentId: device.departmentId,
    recipientId: device.recipientId,
    deviceId: device.id,
  };
}

/**
 * The alarm (once per device message id) and its `raised` transition, as the
 * first common table expressions `a` and `t` of both alarm statements, over
 * the parameters of alarmParams; ALARM_RAISED_EVENT is its NOTIFY payload.
 */
const ALARM_CTES = `a AS (
       INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                           device_message_id, raised_at, lat, lon, accuracy_m, details)
       VALUES ($1, $2, $3, $4, $5, $6, 'device', $7, ${ts("$8::bigint")}, $9, $10, $11, $12)
       ON CONFLICT (device_id, device_message_id) WHERE device_message_id IS NOT NULL DO NOTHING
       RETURNING id
     ), t AS (
       INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, to_state, details)
       SELECT $1, id, 'raised', 'open', $13::jsonb FROM a
     )`;
const ALARM_RAISED_EVENT = `json_build_object(
  'kind', 'alarm.raised', 'alarmId', a.id, 'organisationId', $1::uuid, 'departmentId', $2::uuid,
  'recipientId', $4::uuid, 'deviceId', $3::uuid)::text`;

/**
 * The alarm stored under this message id before, and whether it is this one again (a redelivery:
 * same type and time) or another alarm under a reused id.
 */
async function storedAlarm(
  db: Pick<pg.ClientBase, "query">,
  device: DeviceRef,
  alarm: DeviceAlarm,
): Promise<{ id: string; same: boolean }> {
  const existing = await db.query<{ id: string; type: string; raised_ms: string }>(
    `SELECT id, type, (extract(epoch FROM raised_at) * 1000)::bigint AS raised_ms
       FROM alarms WHERE device_id = $1 AND device_message_id = $2`,
    [device.id, alarm.messageId],
  );
  const found = existing.rows[0];
  if (!found) throw new Error(`alarm ${alarm.messageId} of device ${device.id} neither inserted nor found`);
  return { id: found.id, same: found.type === alarm.type && Number(found.raised_ms) === alarm.raisedAt };
}

/** $1-$14 of both alarm statements: the alarm, its `raised` transition and the NOTIFY channel. */
function alarmParams(device: DeviceRef, alarm: DeviceAlarm) {
  return [
    device.organisationId,
    device.departmentId,
    device.id,
    device.recipientId,
    alarm.type,
    alarm.severity,
    alarm.messageId,
    alarm.raisedAt,
    alarm.fix?.lat ?? null,
    alarm.fix?.lon ?? null,
    alarm.fix?.accM ?? null,
    JSON.stringify({ batteryPct: alarm.batteryPct, positionTime: alarm.fix?.t ?? null }),
    JSON.stringify({ source: "device", messageId: alarm.messageId }),
    EVENTS_CHANNEL,
  ];
}

/**
 * Stores a device alarm once: the unique (device_id, device_message_id) index
 * turns a redelivery into a look-up of the alarm stored the first time.
 */
async function storeDeviceAlarm(client: pg.ClientBase, s: StoreDecision): Promise<AlarmOutcome | undefined> {
  const alarm = s.alarm;
  if (!alarm) return undefined;
  const device = s.device;
  if (alarm.cancels) return cancelDeviceAlarm(client, s, alarm.cancels);
  // Insert, transition and NOTIFY in one round trip: alarms commit in their own lane, and under load
  // every round trip to a busy database costs.
  const inserted = await client.query<{ id: string }>(
    `WITH ${ALARM_CTES} SELECT a.id, pg_notify($14, ${ALARM_RAISED_EVENT}) FROM a`,
    [...alarmParams(device, alarm)],
  );
  const created = inserted.rows[0];
  if (created) {
    return { device, messageId: alarm.messageId, alarmId: created.id, created: true, ackStatus: "received" };
  }
  const stored = await storedAlarm(client, device, alarm);
  return { device, messageId: alarm.messageId, alarmId: stored.id, created: false, ackStatus: "received" };
}

/** The wearer cancelled an alarm on the device (a fall within its cancel window). */
async function cancelDeviceAlarm(
  client: pg.ClientBase,
  s: StoreDecision,
  cancels: string,
): Promise<AlarmOutcome | undefined> {
  const device = s.device;
  const target = await client.query<{ id: string; state: string }>(
    "SELECT id, state FROM alarms WHERE device_id = $1 AND device_message_id = $2 FOR UPDATE",
    [device.id, cancels],
  );
  const row = target.rows[0];
  if (!row) return undefined;
  const messageId = s.alarm?.messageId ?? cancels;
  if (row.state === "open") {
    await client.query(
      "UPDATE alarms SET state = 'cancelled', closed_at = now(), outcome = 'cancelled on the device' WHERE id = $1",
      [row.id],
    );
    await client.query(
      `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, from_state, to_state, details)
       VALUES ($1, $2, 'cancelled', 'open', 'cancelled', $3)`,
      [device.organisationId, row.id, JSON.stringify({ source: "device", messageId })],
    );
    await notify(client, { kind: "alarm.changed", alarmId: row.id, ...scopeOf(device) });
  }
  return { device, messageId, alarmId: row.id, created: false, ackStatus: "cancelled" };
}

export interface DeviceUpdate {
  device: DeviceRef;
  seen: DeviceSeen;
}

/**
 * Folds what the batch says about each device into its row (last seen,
 * battery, charging, reported configuration, online) and announces devices
 * that came online or whose battery or charging changed. Rows are locked in id
 * order, so concurrent batches cannot deadlock on them.
 */
async function updateDevices(
  client: pg.ClientBase,
  stores: StoreDecision[],
  filter: ((u: DeviceUpdate) => boolean) | undefined,
): Promise<{ events: number; written: DeviceUpdate[] }> {
  const byDevice = new Map<string, DeviceUpdate>();
  for (const s of stores) {
    const prev = byDevice.get(s.device.id);
    if (!prev) {
      byDevice.set(s.device.id, { device: s.device, seen: { ...s.seen } });
      continue;
    }
    prev.seen.at = Math.max(prev.seen.at, s.seen.at);
    prev.seen.online = s.seen.online;
    prev.seen.batteryPct = s.seen.batteryPct ?? prev.seen.batteryPct;
    prev.seen.charging = s.seen.charging ?? prev.seen.charging;
    prev.seen.reportedConfig = s.seen.reportedConfig ?? prev.seen.reportedConfig;
  }
  const updates = [...byDevice.values()]
    .filter((u) => filter?.(u) ?? true)
    .sort((a, b) => (a.device.id < b.device.id ? -1 : 1));
  let events = 0;
  if (updates.length > 0) {
    const changed = await client.query<{ id: string }>(
      `WITH u AS (
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::float8[], $4::boolean[], $5::text[], $6::boolean[])
                AS u(id, seen, bat, chg, cfg, online)
       ), prev AS (
         SELECT d.id, d.online, d.battery_percent, d.charging
         FROM devices d JOIN u ON u.id = d.id ORDER BY d.id FOR UPDATE OF d
       ), upd AS (
         UPDATE devices d SET
           last_seen_at = CASE WHEN u.seen > 0 THEN GREATEST(d.last_seen_at, ${ts("u.seen")}) ELSE d.last_seen_at END,
           battery_percent = coalesce(round(u.bat)::smallint, d.battery_percent),
           charging = coalesce(u.chg, d.charging),
           reported_config = coalesce((u.cfg::jsonb) -> 'settings', d.reported_config),
           reported_config_version = coalesce(((u.cfg::jsonb) ->> 'version')::int, d.reported_config_version),
           online = u.online
         FROM u WHERE d.id = u.id AND d.id IN (SELECT id FROM prev)
         RETURNING d.id, d.online, d.battery_percent, d.charging
       )
       SELECT upd.id FROM upd JOIN prev ON prev.id = upd.id
       WHERE prev.online IS DISTINCT FROM upd.online
          OR prev.battery_percent IS DISTINCT FROM upd.battery_percent
          OR prev.charging IS DISTINCT FROM upd.charging`,
      [
        updates.map((u) => u.device.id),
        updates.map((u) => u.seen.at),
        updates.map((u) => u.seen.batteryPct),
        updates.map((u) => u.seen.charging),
        updates.map((u) => (u.seen.reportedConfig ? JSON.stringify(u.seen.reportedConfig) : null)),
        updates.map((u) => u.seen.online),
      ],
    );
    for (const row of changed.rows) {
      const u = byDevice.get(row.id);
      if (!u) continue;
      await notify(client, { kind: "device.changed", ...scopeOf(u.device) });
      events++;
    }
  }
  return { events, written: updates };
}

/**
 * Keeps ingest from rewriting every device row in every batch: a device's
 * row is updated when something in it changes (battery, charging, online,
 * reported configuration) or when its last_seen_at is older than
 * `refreshMs`. At tens of thousands of positions a second this turns one
 * row lock per device per batch into one per device every few seconds.
 */
export class DeviceRowThrottle {
  private readonly written = new Map<
    string,
    { at: number; battery: number | null; charging: boolean | null; online: boolean }
  >();

  constructor(private readonly refreshMs = 10_000) {}

  readonly wants = (u: DeviceUpdate): boolean => {
    const w = this.written.get(u.device.id);
    if (!w) return true;
    const s = u.seen;
    return (
      s.reportedConfig !== null ||
      s.online !== w.online ||
      (s.batteryPct !== null && Math.round(s.batteryPct) !== w.battery) ||
      (s.charging !== null && s.charging !== w.charging) ||
      (s.at > 0 && s.at - w.at >= this.refreshMs)
    );
  };

  /** After commit: remember what the rows now hold. */
  record(written: DeviceUpdate[]): void {
    for (const { device, seen } of written) {
      const prev = this.written.get(device.id);
      this.written.set(device.id, {
        at: seen.at > 0 ? seen.at : (prev?.at ?? 0),
        battery: seen.batteryPct !== null ? Math.round(seen.batteryPct) : (prev?.battery ?? null),
        charging: seen.charging ?? prev?.charging ?? null,
        online: seen.online,
      });
    }
  }

  forget(deviceId?: string): void {
    if (deviceId === undefined) this.written.clear();
    else this.written.delete(deviceId);
  }
}
