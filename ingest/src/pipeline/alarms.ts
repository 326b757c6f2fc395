/**
 * Device alarms: the alarm lane (an alarm on its own, everything in one
 * statement), an alarm inside a batch, and a cancellation from the device.
 * An alarm is stored once per device message id; a redelivery finds the one
 * stored the first time, an id reused for another alarm becomes a dead letter.
 */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import type pg from "pg";
import type { DeviceAlarm, DeviceRef, StoreDecision } from "./decide";
import { type DeviceUpdate, deviceSeenCtes, deviceSeenValues, devicesNotified } from "./devices";
import { refuse } from "./idempotency";
import { notify, scopeOf } from "./notify";
import { insertDeadLetters } from "./rows";
import { LATEST_UPSERT, ts } from "./sql";
import { storableReal } from "./storable";
import type { AlarmOutcome, BatchResult } from "./store";

/**
 * A device alarm on its own (the alarm lane): alarm, `raised` transition, NOTIFY, its fix as a
 * position and the raw log, all in one statement, so one round trip (an implicit transaction) stands
 * between the alarm and its NOTIFY. Nothing in it takes a row lock a position batch holds: the
 * device's newest position and its row, which position batches lock until they commit (and a
 * loaded ingest keeps its transactions open between statements), are the `aftermath`, written right
 * after on the position pool. Before, an alarm waited for those locks, and the alarms behind it
 * for that one: 4 to 50 s in the hostile lab on a loaded machine.
 */
export async function commitDeviceAlarm(
  pool: pg.Pool,
  s: StoreDecision,
  filter: ((u: DeviceUpdate) => boolean) | undefined,
  redelivered: boolean,
): Promise<BatchResult> {
  const alarm = s.alarm as DeviceAlarm;
  const device = s.device;
  const update: DeviceUpdate = { device, seen: { ...s.seen } };
  const writeDevice = filter?.(update) ?? true;
  const fixes = fixArrays(s.positions);
  const raw = s.raw;
  // Named: each connection parses and plans it once (it is long, and under load every millisecond counts).
  const result = await pool.query<{ n: number; alarm_id: string | null }>({
    name: "vakt_ingest_device_alarm",
    text: DEVICE_ALARM_SQL,
    values: [...alarmParams(device, alarm), ...fixes, raw.time, raw.topic, raw.kind, raw.payloadText],
  });
  const row = result.rows[0];
  const created = (row?.alarm_id ?? null) !== null;
  const common = {
    positionsInserted: row?.n ?? 0,
    events: created ? 1 : 0,
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
    return { ...common, devicesWritten: [], alarms: [], refused: [refused] };
  }
  const alarmId = row?.alarm_id ?? (stored as { id: string }).id;
  return {
    ...common,
    alarms: [{ device, messageId: alarm.messageId, alarmId, created, ackStatus: "received" }],
    refused: [],
    // Idempotent (the newest position never moves back; the device row takes the newest seen time),
    // so a redelivered alarm may write it again.
    aftermath: async (positionsPool) => {
      await positionsPool.query({
        name: "vakt_ingest_device_alarm_aftermath",
        text: DEVICE_AFTERMATH_SQL,
        values: [
          device.organisationId,
          device.id,
          device.recipientId,
          EVENTS_CHANNEL,
          ...fixes,
          ...deviceSeenValues(writeDevice ? [update] : []),
        ],
      });
    },
  };
}

/** The fixes as the nine column arrays both alarm statements unnest. */
function fixArrays(rows: StoreDecision["positions"]): unknown[] {
  return [
    rows.map((r) => r.time),
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
 * commitDeviceAlarm's one statement: the alarm and its transition (ALARM_CTES), its fixes as positions,
 * the raw message and the alarm's NOTIFY. $1-$14 alarmParams, $15-$23 the fixes' arrays, $24-$27 the raw
 * message.
 */
const DEVICE_ALARM_SQL = `WITH ${ALARM_CTES}, u AS (
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
   ), m AS (
     -- A redelivered alarm wrote these the first time; an alarm id reused for another alarm writes none.
     INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
     SELECT ${ts("$24::bigint")}, $3, $1, 'uplink', $25, $7, $26, $27::text WHERE EXISTS (SELECT 1 FROM a)
     ON CONFLICT DO NOTHING
   )
   SELECT (SELECT count(*) FROM p)::int AS n,
          (SELECT id FROM a) AS alarm_id,
          (SELECT pg_notify($14, ${ALARM_RAISED_EVENT}) FROM a) AS alarm_notified`;

/**
 * An alarm's aftermath: the newest of its fixes as the device's latest position, and the device row
 * (only when the throttle wants it) written as every batch writes it (devices.ts: last seen, battery,
 * charging, and online unless the device went away after the alarm was sent), with the NOTIFY of a
 * changed device. $1-$3 organisation, device, recipient; $4 the channel; $5-$13 the fixes' arrays;
 * $14-$22 deviceSeenCtes' arrays (empty: the row is not written).
 */
const DEVICE_AFTERMATH_SQL = `WITH u AS (
     SELECT * FROM unnest($5::bigint[], $6::float8[], $7::float8[], $8::real[], $9::real[], $10::real[],
                          $11::real[], $12::text[], $13::float8[])
            AS u(t, lat, lon, acc, spd, hdg, alt, src, bat)
   ), l AS (
     INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m,
                                   speed_mps, heading_deg, source, battery_percent)
     SELECT ${ts("t")}, $2::uuid, $1::uuid, $3::uuid, lat, lon, acc, spd, hdg, src, round(bat)::smallint
     FROM u ORDER BY t DESC LIMIT 1 ${LATEST_UPSERT}
   ), ${deviceSeenCtes(14)}
   SELECT ${devicesNotified("$4")} > 0 AS device_changed`;

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
    storableReal(alarm.fix?.accM),
    JSON.stringify({ batteryPct: alarm.batteryPct, positionTime: alarm.fix?.t ?? null }),
    JSON.stringify({ source: "device", messageId: alarm.messageId }),
    EVENTS_CHANNEL,
  ];
}

/**
 * Stores a device alarm once: the unique (device_id, device_message_id) index
 * turns a redelivery into a look-up of the alarm stored the first time.
 */
export async function storeDeviceAlarm(
  client: pg.ClientBase,
  s: StoreDecision,
): Promise<AlarmOutcome | undefined> {
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
      "UPDATE alarms SET state = 'cancelled', closed_at = now(), outcome = 'false_alarm' WHERE id = $1",
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
