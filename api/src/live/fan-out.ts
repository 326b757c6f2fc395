import type { AlarmChange, LiveDeviceChanged, PlatformEvent } from "@vakt/schemas";
import { loadAlarmRow, toAlarmSummary } from "../alarms/service";
import { pseudonym } from "../auth/secrets";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import { alarmRoomPrefix, type LiveServer } from "./types";

/**
 * Alarms and devices to the rooms that may see them. `local`: to this process's sockets only (an
 * event every API process heard from PostgreSQL); otherwise through the adapter to every process.
 */
export function liveFanOut(
  io: LiveServer,
  deps: ApiDeps,
  bus: Bus,
  beforeNewAlarm?: (alarmId: string) => Promise<void>,
) {
  async function emitAlarm(alarmId: string, change: AlarmChange | null, local: boolean) {
    if (change === null && beforeNewAlarm)
      await beforeNewAlarm(alarmId).catch((err) =>
        deps.logger.warn({ err, alarmId }, "routing claim failed"),
      );
    const row = await loadAlarmRow(deps.pool, alarmId);
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

  async function emitDevice(deviceId: string, local: boolean) {
    const d = await deviceChange(deps, deviceId);
    if (!d) return;
    const { payload } = d;
    const target = local ? io.local : io;
    target.to(`device:${d.department_id}`).emit("device:changed", payload);
    target.to(`pdevice:${d.department_id}`).emit("device:changed", {
      ...payload,
      deviceId: pseudonym(deps.config.PSEUDONYM_KEY, d.organisation_id, `device:${deviceId}`),
      recipientId: d.recipient_id
        ? pseudonym(deps.config.PSEUDONYM_KEY, d.organisation_id, d.recipient_id)
        : null,
    });
  }

  /** An event every API process heard from PostgreSQL: to this process's sockets. */
  const fromDatabase = (e: PlatformEvent, log: ApiDeps["logger"]) => {
    const work =
      e.kind === "alarm.raised"
        ? emitAlarm(e.alarmId, null, true)
        : e.kind === "alarm.changed"
          ? emitAlarm(e.alarmId, "changed", true)
          : emitDevice(e.deviceId, true);
    void work.catch((err) => log.error({ err, event: e }, "live fan-out failed"));
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
      bus.on(
        "device",
        (e) =>
          void emitDevice(e.deviceId, false).catch((err) => log.error({ err }, "live device emit failed")),
      ),
    ];
    return () => {
      for (const off of unsubscribe) off();
    };
  };

  return { fromDatabase, fromBus };
}

/** What the live map shows of a device, with the ids its rooms and pseudonyms need. */
async function deviceChange(deps: ApiDeps, deviceId: string) {
  const { rows } = await deps.pool.query<{
    organisation_id: string;
    department_id: string;
    recipient_id: string | null;
    online: boolean;
    battery_percent: number | null;
    charging: boolean | null;
    last_seen_at: Date | null;
    tracking_until: Date | null;
  }>(
    `SELECT organisation_id, department_id, recipient_id, online, battery_percent, charging, last_seen_at,
            tracking_until FROM devices WHERE id = $1`,
    [deviceId],
  );
  const d = rows[0];
  if (!d) return undefined;
  const payload: LiveDeviceChanged = {
    deviceId,
    recipientId: d.recipient_id,
    departmentId: d.department_id,
    online: d.online,
    batteryPercent: d.battery_percent,
    charging: d.charging,
    lastSeenAt: d.last_seen_at?.toISOString() ?? null,
    trackingUntil: d.tracking_until?.toISOString() ?? null,
  };
  return { ...d, payload };
}
