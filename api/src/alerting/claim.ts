/**
 * Claiming a new alarm: the first API process to INSERT its alarm_routing row owns it. It turns
 * tracking on for the device (devices.tracking_until and a `track` command) and starts the rule's
 * escalation, after the cancel window when the rule (or a fall) has one.
 */
import { withTransaction } from "@vakt/storage";
import type pg from "pg";
import type { AlarmRow } from "../alarms/rows";
import { commandId, loadAlarmRow } from "../alarms/service";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import { cancelWindowSecondsOf, findRule } from "./rules";
import { addJob } from "./worker";

export interface ClaimContext {
  deps: ApiDeps & { bus: Bus };
  log: ApiDeps["logger"];
  /** How long an alarm keeps its device tracking. */
  trackingMs: number;
}

/** Picks the rule and queues its first step (at the cancel window's end); whether a window holds it back. */
async function startRouting(tx: pg.PoolClient, alarm: AlarmRow, now: Date): Promise<boolean> {
  const rule = await findRule(tx, alarm, now);
  if (!rule || rule.steps.length === 0) return false;
  // The window counts from when the wearer raised it (a late-delivered alarm has less of it left).
  const windowS = cancelWindowSecondsOf(rule, alarm.type);
  // A device clock ahead of ours must not delay alerting: never later than now + the window.
  const from = Math.min(alarm.raised_at.getTime(), now.getTime());
  const windowEnd = new Date(from + windowS * 1000);
  const windowed = windowS > 0 && windowEnd > now;
  await tx.query(
    "UPDATE alarm_routing SET rule_id = $2, status = 'active', cancel_until = $3 WHERE alarm_id = $1",
    [alarm.id, rule.id, windowed ? windowEnd : null],
  );
  // A job at run_at, not a timer: the window outlives a restart, and step 1 finds a cancelled alarm closed.
  await addJob(
    tx,
    "alarm_step",
    { alarmId: alarm.id, run: 1 },
    { jobKey: `alarm:${alarm.id}`, runAt: windowed ? windowEnd : undefined },
  );
  return windowed;
}

/**
 * Claims an alarm (idempotent across processes); false when it is not open or another process has it.
 * `onRouted` is called once the routing row is committed (or the claim gave up).
 */
export async function claimAlarm(
  { deps, log, trackingMs }: ClaimContext,
  alarmId: string,
  onRouted?: () => void,
): Promise<boolean> {
  const outcome = await withTransaction(deps.pool, async (tx) => {
    const alarm = await loadAlarmRow(tx, alarmId);
    if (alarm?.state !== "open") return undefined;
    const claimed = await tx.query(
      `INSERT INTO alarm_routing (alarm_id, organisation_id, status) VALUES ($1, $2, 'no_rule')
       ON CONFLICT (alarm_id) DO NOTHING`,
      [alarmId, alarm.organisation_id],
    );
    if ((claimed.rowCount ?? 0) === 0) return undefined;
    const now = deps.clock.now();
    // Alarms from the wearer (and leaving a safe zone) turn tracking on; low battery or no contact do not.
    const track = alarm.source === "device" || alarm.type === "geofence_exit";
    const until = new Date(now.getTime() + trackingMs);
    if (track) {
      await tx.query(
        `UPDATE devices SET tracking_until = greatest(coalesce(tracking_until, $2), $2) WHERE id = $1`,
        [alarm.device_id, until],
      );
    }
    const windowed = await startRouting(tx, alarm, now);
    return { serial: alarm.serial, until, deviceId: alarm.device_id, track, windowed };
  }).finally(() => onRouted?.());
  if (!outcome) return false;
  // The console shows the countdown: the alarm it already has now carries its window's end.
  if (outcome.windowed) deps.bus.emit("alarm", { alarmId, change: "cancel_window" });
  if (!outcome.track) return true;
  await deps.deviceCommands
    .publishCommand(outcome.serial, {
      v: 1,
      id: commandId("trk"),
      command: "track",
      untilMs: outcome.until.getTime(),
    })
    .catch((err) => log.warn({ err, alarmId }, "track command failed"));
  deps.bus.emit("device", { deviceId: outcome.deviceId });
  return true;
}
