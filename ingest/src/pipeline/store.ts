/**
 * Turns a batch of decisions into rows, in one transaction on the client it is
 * given. Every insert is idempotent (ON CONFLICT DO NOTHING on the device's
 * message id or fix time), so a batch the broker redelivers after a crash
 * stores nothing twice. Multi-row inserts use unnest() over arrays: one round
 * trip per table, whatever the batch size.
 */
import { EVENTS_CHANNEL, type PlatformEvent } from "@vakt/schemas";
import type pg from "pg";
import { copyInto, ensureStaging } from "./copy";
import type {
  DeadLetterRow,
  DeviceRef,
  DeviceSeen,
  PositionRow,
  RawMessageRow,
  StatusRow,
  StoreDecision,
} from "./decide";

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
}

export interface BatchResult {
  alarms: AlarmOutcome[];
  /** The device rows this batch updated. */
  devicesWritten: DeviceUpdate[];
  positionsInserted: number;
  events: number;
}

/** Below this many rows a plain multi-row INSERT beats staging + COPY (fewer round trips). */
const COPY_THRESHOLD = 64;

const ts = (col: string) => `timestamptz 'epoch' + ${col} * interval '1 millisecond'`;

export async function writeBatch(client: pg.ClientBase, batch: BatchInput): Promise<BatchResult> {
  const positions: PositionRow[] = [];
  const statuses: StatusRow[] = [];
  const raws: RawMessageRow[] = [];
  for (const s of batch.stores) {
    for (const p of s.positions) positions.push(p);
    if (s.status) statuses.push(s.status);
    raws.push(s.raw);
  }
  let events = 0;
  if (batch.deadLetters.length > 0) await insertDeadLetters(client, batch.deadLetters);
  const copyMin = batch.copyMinRows ?? COPY_THRESHOLD;
  const positionsInserted = positions.length > 0 ? await insertPositions(client, positions, copyMin) : 0;
  if (positions.length > 0) await upsertLatestPositions(client, positions);
  if (statuses.length > 0) await insertStatuses(client, statuses);
  if (raws.length > 0) await insertRawMessages(client, raws, copyMin);

  const alarms: AlarmOutcome[] = [];
  for (const s of batch.stores) {
    if (!s.alarm) continue;
    const outcome = await storeDeviceAlarm(client, s);
    if (outcome) {
      alarms.push(outcome);
      if (outcome.created || outcome.ackStatus === "cancelled") events++;
    }
  }
  const devices = await updateDevices(client, batch.stores, batch.deviceFilter);
  events += devices.events;
  return { alarms, positionsInserted, events, devicesWritten: devices.written };
}

async function insertDeadLetters(client: pg.ClientBase, rows: DeadLetterRow[]): Promise<void> {
  await client.query(
    `INSERT INTO dead_letters (received_at, transport, topic, organisation_id, device_id, reason, detail,
                               payload_excerpt, payload_bytes)
     SELECT ${ts("r")}, tr, tp, org, dev, reason, detail, excerpt, bytes
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
                 $8::text[], $9::int[]) AS u(r, tr, tp, org, dev, reason, detail, excerpt, bytes)`,
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
    ],
  );
}

async function insertPositions(client: pg.ClientBase, rows: PositionRow[], copyMin: number): Promise<number> {
  if (rows.length < copyMin) return insertPositionsSmall(client, rows);
  await ensureStaging(client);
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
          AS u(t, dev, org, rec, lat, lon, acc, spd, hdg, src, bat)
     ON CONFLICT (device_id) DO UPDATE SET
       time = EXCLUDED.time, organisation_id = EXCLUDED.organisation_id, recipient_id = EXCLUDED.recipient_id,
       lat = EXCLUDED.lat, lon = EXCLUDED.lon, accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps,
       heading_deg = EXCLUDED.heading_deg, source = EXCLUDED.source, battery_percent = EXCLUDED.battery_percent
     WHERE latest_positions.time < EXCLUDED.time`,
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

async function insertRawMessages(
  client: pg.ClientBase,
  rows: RawMessageRow[],
  copyMin: number,
): Promise<void> {
  if (rows.length < copyMin) return insertRawMessagesSmall(client, rows);
  await ensureStaging(client);
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

async function insertPositionsSmall(client: pg.ClientBase, rows: PositionRow[]): Promise<number> {
  const result = await client.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m,
                            speed_mps, heading_deg, altitude_m, source, battery_percent)
     SELECT ${ts("t")}, dev, org, rec, mid, lat, lon, acc, spd, hdg, alt, src, round(bat)::smallint
     FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::float8[], $7::float8[],
                 $8::real[], $9::real[], $10::real[], $11::real[], $12::text[], $13::float8[])
          AS u(t, dev, org, rec, mid, lat, lon, acc, spd, hdg, alt, src, bat)
     ON CONFLICT DO NOTHING`,
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
    ],
  );
  return result.rowCount ?? 0;
}

async function insertRawMessagesSmall(client: pg.ClientBase, rows: RawMessageRow[]): Promise<void> {
  await client.query(
    `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
     SELECT ${ts("t")}, dev, org, 'uplink', topic, mid, kind, payload::jsonb
     FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
          AS u(t, dev, org, topic, mid, kind, payload)
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.time),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.organisationId),
      rows.map((r) => r.topic),
      rows.map((r) => r.messageId),
      rows.map((r) => r.kind),
      rows.map((r) => r.payloadText),
    ],
  );
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
    `WITH a AS (
       INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                           device_message_id, raised_at, lat, lon, accuracy_m, details)
       VALUES ($1, $2, $3, $4, $5, $6, 'device', $7, ${ts("$8::bigint")}, $9, $10, $11, $12)
       ON CONFLICT (device_id, device_message_id) WHERE device_message_id IS NOT NULL DO NOTHING
       RETURNING id
     ), t AS (
       INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, to_state, details)
       SELECT $1, id, 'raised', 'open', $13::jsonb FROM a
     )
     SELECT a.id, pg_notify($14, json_build_object(
              'kind', 'alarm.raised', 'alarmId', a.id, 'organisationId', $1::uuid, 'departmentId', $2::uuid,
              'recipientId', $4::uuid, 'deviceId', $3::uuid)::text)
     FROM a`,
    [
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
    ],
  );
  const created = inserted.rows[0];
  if (created) {
    return { device, messageId: alarm.messageId, alarmId: created.id, created: true, ackStatus: "received" };
  }
  const existing = await client.query<{ id: string }>(
    "SELECT id FROM alarms WHERE device_id = $1 AND device_message_id = $2",
    [device.id, alarm.messageId],
  );
  const id = existing.rows[0]?.id;
  if (!id) throw new Error(`alarm ${alarm.messageId} of device ${device.id} neither inserted nor found`);
  return { device, messageId: alarm.messageId, alarmId: id, created: false, ackStatus: "received" };
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
