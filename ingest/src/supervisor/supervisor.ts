/**
 * Raises and clears platform alarms (no contact, low battery, geofence exit
 * and enter, outdated position) on a timer. Each tick reads every active
 * device's snapshot, evaluates its conditions (pure, ./conditions.ts),
 * and applies the transitions in one transaction, NOTIFYing each alarm.
 *
 * Raised once: device_conditions remembers each condition's state, so an
 * alarm comes only on the transition into the condition; the unique index
 * alarms_open_condition_idx makes a second open alarm for the same condition
 * impossible even with two supervisors. Only one ingest process supervises
 * at a time (a transaction-level advisory lock), the others skip the tick.
 */
import { EVENTS_CHANNEL, geofenceShape } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import type pg from "pg";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import type { DeviceRef } from "../pipeline/decide";
import {
  type ConditionOptions,
  type ConditionType,
  type ConditionVerdict,
  conditionSeverity,
  type DeviceSnapshot,
  defaultConditionOptions,
  evaluateConditions,
  type GeofenceSnapshot,
} from "./conditions";

const SUPERVISOR_LOCK_KEY = 0x7661_6b75;

export interface SupervisorOptions {
  pool: pg.Pool;
  logger: Logger;
  metrics?: IngestMetrics;
  now?: () => number;
  /** How often to check (default 30 s; the brief asks for at least every minute). */
  intervalMs?: number;
  conditions?: Partial<ConditionOptions>;
}

export interface TickResult {
  skipped: boolean;
  devices: number;
  raised: number;
  cleared: number;
}

interface StoredState {
  active: boolean;
}

export class Supervisor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly now: () => number;
  private readonly options: ConditionOptions;

  constructor(private readonly o: SupervisorOptions) {
    this.now = o.now ?? Date.now;
    this.options = { ...defaultConditionOptions, ...o.conditions };
  }

  start(): void {
    const interval = this.o.intervalMs ?? 30_000;
    const tick = () => {
      this.running = this.runOnce()
        .catch((err) => this.o.logger.warn({ err }, "supervisor tick failed"))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, interval);
        });
    };
    this.timer = setTimeout(tick, interval);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async runOnce(): Promise<TickResult> {
    const now = this.now();
    return withTransaction(this.o.pool, async (c) => {
      const lock = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [
        SUPERVISOR_LOCK_KEY,
      ]);
      if (!lock.rows[0]?.ok) return { skipped: true, devices: 0, raised: 0, cleared: 0 };
      await trimIdempotencyKeys(c);
      const snapshots = await loadSnapshots(c);
      const states = await loadStates(
        c,
        snapshots.map((s) => s.device.id),
      );
      let raised = 0;
      let cleared = 0;
      for (const snap of snapshots) {
        const stateOf = (type: ConditionType, key: string) =>
          states.get(stateKey(snap.device.id, type, key))?.active;
        const verdicts = evaluateConditions(snap, stateOf, now, this.options);
        const seen = new Set(verdicts.map((v) => stateKey(snap.device.id, v.type, v.key)));
        // A geofence that was removed or switched off ends its condition.
        for (const [k, st] of states) {
          if (!st.active || seen.has(k) || !k.startsWith(`${snap.device.id}|geofence_`)) continue;
          const [, type, key] = k.split("|") as [string, ConditionType, string];
          verdicts.push({ type, key, active: false, details: { reason: "geofence removed" }, at: null });
        }
        for (const v of verdicts) {
          const was = stateOf(v.type, v.key) ?? false;
          if (v.active === was) continue;
          if (v.active) {
            if (await raise(c, snap.device, v, now)) {
              raised++;
              this.o.metrics?.platformAlarms.inc({ type: v.type, transition: "raised" });
            }
          } else {
            if (await clear(c, snap.device, v)) {
              cleared++;
              this.o.metrics?.platformAlarms.inc({ type: v.type, transition: "cleared" });
            }
          }
          if (v.type === "no_contact") await setOnline(c, snap.device, !v.active);
        }
      }
      if (raised + cleared > 0) {
        this.o.logger.info({ devices: snapshots.length, raised, cleared }, "supervisor tick");
      }
      return { skipped: false, devices: snapshots.length, raised, cleared };
    });
  }
}

const stateKey = (deviceId: string, type: string, key: string) => `${deviceId}|${type}|${key}`;

async function loadSnapshots(c: pg.PoolClient): Promise<DeviceSnapshot[]> {
  const { rows } = await c.query<{
    id: string;
    serial: string;
    organisation_id: string;
    department_id: string;
    recipient_id: string | null;
    last_seen_at: Date | null;
    offline_since: Date | null;
    battery_percent: number | null;
    charging: boolean | null;
    desired_config: unknown;
    time_zone: string;
    fix_time: Date | null;
    lat: number | null;
    lon: number | null;
    accuracy_m: number | null;
  }>(
    `SELECT d.id, d.serial, d.organisation_id, d.department_id, d.recipient_id, d.last_seen_at,
            CASE WHEN d.online THEN NULL ELSE d.offline_since END AS offline_since,
            d.battery_percent, d.charging, d.desired_config, o.time_zone,
            p.time AS fix_time, p.lat, p.lon, p.accuracy_m
     FROM devices d
     JOIN organisations o ON o.id = d.organisation_id
     LEFT JOIN LATERAL (
       SELECT time, lat, lon, accuracy_m FROM positions WHERE device_id = d.id ORDER BY time DESC LIMIT 1
     ) p ON true
     WHERE d.retired_at IS NULL`,
  );
  const recipients = [...new Set(rows.map((r) => r.recipient_id).filter((r): r is string => r !== null))];
  const fences = await loadGeofences(c, recipients);
  return rows.map((r) => ({
    device: {
      id: r.id,
      serial: r.serial,
      organisationId: r.organisation_id,
      departmentId: r.department_id,
      recipientId: r.recipient_id,
    },
    lastSeenAt: r.last_seen_at?.getTime() ?? null,
    offlineSince: r.offline_since?.getTime() ?? null,
    batteryPct: r.battery_percent,
    charging: r.charging,
    desiredConfig: r.desired_config,
    latestFix:
      r.fix_time && r.lat !== null && r.lon !== null
        ? { t: r.fix_time.getTime(), lat: r.lat, lon: r.lon, accM: r.accuracy_m }
        : null,
    geofences: r.recipient_id ? (fences.get(r.recipient_id) ?? []) : [],
    timeZone: r.time_zone,
  }));
}

/** The active geofences of these recipients, by recipient (a stored shape that does not parse is skipped). */
async function loadGeofences(
  c: pg.PoolClient,
  recipients: string[],
): Promise<Map<string, GeofenceSnapshot[]>> {
  const fences = new Map<string, GeofenceSnapshot[]>();
  if (recipients.length === 0) return fences;
  const g = await c.query<{
    id: string;
    recipient_id: string;
    name: string;
    shape: unknown;
    alarm_on: "exit" | "enter" | "both";
    window_start: string | null;
    window_end: string | null;
  }>(
    `SELECT id, recipient_id, name, shape, alarm_on, window_start::text, window_end::text
     FROM geofences WHERE active AND recipient_id = ANY($1::uuid[])`,
    [recipients],
  );
  for (const row of g.rows) {
    const shape = geofenceShape.safeParse(row.shape);
    if (!shape.success) continue;
    const list = fences.get(row.recipient_id) ?? [];
    list.push({
      id: row.id,
      name: row.name,
      shape: shape.data,
      alarmOn: row.alarm_on,
      windowStart: row.window_start,
      windowEnd: row.window_end,
    });
    fences.set(row.recipient_id, list);
  }
  return fences;
}

async function loadStates(c: pg.PoolClient, deviceIds: string[]): Promise<Map<string, StoredState>> {
  const states = new Map<string, StoredState>();
  if (deviceIds.length === 0) return states;
  const { rows } = await c.query<{ device_id: string; type: string; condition_key: string; active: boolean }>(
    "SELECT device_id, type, condition_key, active FROM device_conditions WHERE device_id = ANY($1::uuid[])",
    [deviceIds],
  );
  for (const r of rows) states.set(stateKey(r.device_id, r.type, r.condition_key), { active: r.active });
  return states;
}

function scope(device: DeviceRef) {
  return {
    organisationId: device.organisationId,
    departmentId: device.departmentId,
    recipientId: device.recipientId,
    deviceId: device.id,
  };
}

async function saveState(c: pg.PoolClient, device: DeviceRef, v: ConditionVerdict, alarmId: string | null) {
  await c.query(
    `INSERT INTO device_conditions (device_id, organisation_id, type, condition_key, active, changed_at, alarm_id)
     VALUES ($1, $2, $3, $4, $5, now(), $6)
     ON CONFLICT (device_id, type, condition_key)
     DO UPDATE SET active = EXCLUDED.active, changed_at = now(),
                   alarm_id = coalesce(EXCLUDED.alarm_id, device_conditions.alarm_id)`,
    [device.id, device.organisationId, v.type, v.key, v.active, alarmId],
  );
}

/** Raises the alarm for a condition that became true; false if one is already open. */
async function raise(
  c: pg.PoolClient,
  device: DeviceRef,
  v: ConditionVerdict,
  now: number,
): Promise<boolean> {
  const inserted = await c.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         condition_key, raised_at, lat, lon, details)
     VALUES ($1, $2, $3, $4, $5, $6, 'platform', $7, to_timestamp($8::float8 / 1000), $9, $10, $11)
     ON CONFLICT (device_id, type, (coalesce(condition_key, '')))
       WHERE source = 'platform' AND state IN ('open', 'acknowledged')
     DO NOTHING
     RETURNING id`,
    [
      device.organisationId,
      device.departmentId,
      device.id,
      device.recipientId,
      v.type,
      conditionSeverity[v.type],
      v.key === "" ? null : v.key,
      now,
      v.at?.lat ?? null,
      v.at?.lon ?? null,
      JSON.stringify(v.details),
    ],
  );
  const id = inserted.rows[0]?.id ?? null;
  await saveState(c, device, v, id);
  if (!id) return false;
  await c.query(
    `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, to_state, details)
     VALUES ($1, $2, 'raised', 'open', $3)`,
    [device.organisationId, id, JSON.stringify({ source: "platform", ...v.details })],
  );
  await c.query("SELECT pg_notify($1, $2)", [
    EVENTS_CHANNEL,
    JSON.stringify({ kind: "alarm.raised", alarmId: id, ...scope(device) }),
  ]);
  return true;
}

/** Clears (resolves) the open alarm of a condition that ended. */
async function clear(c: pg.PoolClient, device: DeviceRef, v: ConditionVerdict): Promise<boolean> {
  await saveState(c, device, v, null);
  const { rows } = await c.query<{ id: string; from_state: string }>(
    `UPDATE alarms a SET state = 'resolved', closed_at = now(), outcome = 'condition cleared'
     FROM (SELECT id, state FROM alarms
           WHERE device_id = $1 AND type = $2 AND coalesce(condition_key, '') = $3
             AND source = 'platform' AND state IN ('open', 'acknowledged') FOR UPDATE) old
     WHERE a.id = old.id
     RETURNING a.id, old.state AS from_state`,
    [device.id, v.type, v.key],
  );
  for (const r of rows) {
    await c.query(
      `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, from_state, to_state, details)
       VALUES ($1, $2, 'cleared', $3, 'resolved', $4)`,
      [device.organisationId, r.id, r.from_state, JSON.stringify({ source: "platform", ...v.details })],
    );
    await c.query("SELECT pg_notify($1, $2)", [
      EVENTS_CHANNEL,
      JSON.stringify({ kind: "alarm.changed", alarmId: r.id, ...scope(device) }),
    ]);
  }
  return rows.length > 0;
}

async function setOnline(c: pg.PoolClient, device: DeviceRef, online: boolean): Promise<void> {
  const r = await c.query("UPDATE devices SET online = $2 WHERE id = $1 AND online <> $2", [
    device.id,
    online,
  ]);
  if ((r.rowCount ?? 0) > 0) {
    await c.query("SELECT pg_notify($1, $2)", [
      EVENTS_CHANNEL,
      JSON.stringify({ kind: "device.changed", ...scope(device) }),
    ]);
  }
}

/**
 * Device message ids are remembered for UPLINK_ID_DAYS (a native message id is unique per device
 * within that window: see ingest/README.md) and redelivery counts for a day; trimmed a bounded
 * number of rows per tick.
 */
export const UPLINK_ID_DAYS = 30;
async function trimIdempotencyKeys(c: pg.ClientBase): Promise<void> {
  await c.query(
    `DELETE FROM uplink_ids WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM uplink_ids WHERE seen_at < now() - make_interval(days => $1) LIMIT 50000))`,
    [UPLINK_ID_DAYS],
  );
  await c.query(
    `DELETE FROM ingest_redeliveries WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM ingest_redeliveries WHERE last_at < now() - interval '1 day' LIMIT 50000))`,
  );
}
