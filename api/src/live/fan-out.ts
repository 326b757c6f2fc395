import type { AlarmChange, LiveDeviceChanged, PlatformEvent } from "@vakt/schemas";
import type pg from "pg";
import { type AlarmRow, loadAlarmRowPrepared, toAlarmSummary } from "../alarms/service";
import { pseudonym } from "../auth/secrets";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import { coalescing } from "./coalesce";
import { alarmRoomPrefix, type LiveServer } from "./types";

export interface FanOutOptions {
  /** Where alarm rows are read: the alarm path's own pool, never queued behind devices or requests. */
  alarmDb: pg.Pool;
  /**
   * A new alarm as alert routing's claim left it (routing row committed, cancel window known), read
   * in the claim's statement; undefined when there is no routing here or the claim failed.
   */
  newAlarm?: (alarmId: string) => Promise<AlarmRow | undefined>;
}

/**
 * Alarms and devices to the rooms that may see them. `local`: to this process's sockets only (an
 * event every API process heard from PostgreSQL); otherwise through the adapter to every process.
 * An alarm is one round trip on its own pool from NOTIFY to push (for a new one, the claim's);
 * device events are coalesced into one query per batch on the shared pool, started after the alarms.
 */
export function liveFanOut(io: LiveServer, deps: ApiDeps, bus: Bus, options: FanOutOptions) {
  const { alarmDb, newAlarm } = options;
  async function emitAlarm(alarmId: string, change: AlarmChange | null, local: boolean) {
    const claimed =
      change === null && newAlarm
        ? await newAlarm(alarmId).catch((err) => {
            deps.logger.warn({ err, alarmId }, "routing claim failed");
            return undefined;
          })
        : undefined;
    const row = claimed ?? (await loadAlarmRowPrepared(alarmDb, alarmId));
    if (!row) return;
    const target = local ? io.local : io;
    // One room per audience, each sent the alarm as that audience may see it (alarms/service.ts).
    for (const pseudonymous of [false, true])
      for (const positions of [true, false]) {
        const summary = toAlarmSummary(deps, { pseudonymous, positions: positions || new Set() }, row);
        const room = target.to(`${alarmRoomPrefix(pseudonymous, positions)}alarm:${row.department_id}`);
        if (change === null) room.emit("alarm:new", summary);
        else room.emit("alarm:changed", { ...summary, change });
      }
    bus.emit("alarm:emitted", { alarmId, change });
  }

  const devices = deviceFanOut(io, deps);

  /** An event every API process heard from PostgreSQL: to this process's sockets. */
  const fromDatabase = (e: PlatformEvent, log: ApiDeps["logger"]) => {
    if (e.kind === "device.changed") {
      devices.add(`l${e.deviceId}`);
      return;
    }
    void emitAlarm(e.alarmId, e.kind === "alarm.raised" ? null : "changed", true).catch((err) =>
      log.error({ err, event: e }, "live fan-out failed"),
    );
  };

  /** Changes made through this process's API go to every process through the adapter; returns the unsubscribe. */
  const fromBus = (log: ApiDeps["logger"]) => {
    const unsubscribe = [
      bus.on(
        "alarm",
        (e) =>
          void emitAlarm(e.alarmId, e.change, false).catch((err) =>
            log.error({ err }, "live alarm emit failed"),
          ),
      ),
      bus.on("alert", (e) => {
        if (e.userIds.length > 0) io.to(e.userIds.map((u) => `user:${u}`)).emit("alarm:alert", e.alert);
      }),
      bus.on("device", (e) => devices.add(`a${e.deviceId}`)),
    ];
    return () => {
      for (const off of unsubscribe) off();
    };
  };

  return { fromDatabase, fromBus };
}

/**
 * Device changes to the rooms that may see them, coalesced (coalesce.ts): `add("l" + id)` for this
 * process's sockets, `add("a" + id)` through the adapter; one query per batch on the shared pool.
 */
function deviceFanOut(io: LiveServer, deps: ApiDeps) {
  return coalescing(
    async (keys) => {
      const ids = [...new Set([...keys].map((k) => k.slice(1)))];
      for (const d of await deviceChanges(deps, ids)) {
        for (const local of [true, false])
          if (keys.has(`${local ? "l" : "a"}${d.payload.deviceId}`)) emitDevice(io, deps, d, local);
      }
    },
    (err) => deps.logger.error({ err }, "live device emit failed"),
  );
}

function emitDevice(io: LiveServer, deps: ApiDeps, d: DeviceChange, local: boolean) {
  const { payload } = d;
  const target = local ? io.local : io;
  target.to(`device:${d.department_id}`).emit("device:changed", payload);
  target.to(`pdevice:${d.department_id}`).emit("device:changed", {
    ...payload,
    deviceId: pseudonym(deps.config.PSEUDONYM_KEY, d.organisation_id, `device:${payload.deviceId}`),
    recipientId: d.recipient_id
      ? pseudonym(deps.config.PSEUDONYM_KEY, d.organisation_id, d.recipient_id)
      : null,
  });
}

interface DeviceChange {
  organisation_id: string;
  department_id: string;
  recipient_id: string | null;
  payload: LiveDeviceChanged;
}

/** What the live map shows of each device, with the ids its rooms and pseudonyms need: one query. */
async function deviceChanges(deps: ApiDeps, deviceIds: string[]): Promise<DeviceChange[]> {
  const { rows } = await deps.pool.query<{
    id: string;
    organisation_id: string;
    department_id: string;
    recipient_id: string | null;
    online: boolean;
    battery_percent: number | null;
    charging: boolean | null;
    last_seen_at: Date | null;
    tracking_until: Date | null;
  }>(
    `SELECT id, organisation_id, department_id, recipient_id, online, battery_percent, charging, last_seen_at,
            tracking_until FROM devices WHERE id = ANY($1::uuid[])`,
    [deviceIds],
  );
  return rows.map((d) => ({
    organisation_id: d.organisation_id,
    department_id: d.department_id,
    recipient_id: d.recipient_id,
    payload: {
      deviceId: d.id,
      recipientId: d.recipient_id,
      departmentId: d.department_id,
      online: d.online,
      batteryPercent: d.battery_percent,
      charging: d.charging,
      lastSeenAt: d.last_seen_at?.toISOString() ?? null,
      trackingUntil: d.tracking_until?.toISOString() ?? null,
    },
  }));
}
