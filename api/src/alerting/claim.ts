/**
 * Claiming a new alarm: the first API process to INSERT its alarm_routing row owns it. It turns
 * tracking on for the device (devices.tracking_until and a `track` command) and starts the rule's
 * escalation, after the cancel window when the rule (or a fall) has one.
 */
import { commandId, loadAlarmRow } from "../alarms/service";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import { cancelWindowSecondsOf, findRuleForAlarm } from "./rules";

export interface ClaimContext {
  deps: ApiDeps & { bus: Bus };
  log: ApiDeps["logger"];
  /** How long an alarm keeps its device tracking. */
  trackingMs: number;
}

/**
 * The claim in one statement (so in one round trip, and atomic without a transaction of its own):
 * the routing row, if the alarm is still open and no process has claimed it; tracking for its
 * device; and the rule's first step as a job at the cancel window's end. An alarm waits on every
 * round trip here before any console hears of it, and on a busy machine each one costs.
 */
const CLAIM_SQL = `
  WITH claimed AS (
    INSERT INTO alarm_routing (alarm_id, organisation_id, status, rule_id, cancel_until)
    SELECT a.id, a.organisation_id, CASE WHEN $2::uuid IS NULL THEN 'no_rule' ELSE 'active' END, $2, $3
      FROM alarms a WHERE a.id = $1 AND a.state = 'open'
    ON CONFLICT (alarm_id) DO NOTHING
    RETURNING alarm_id),
  tracked AS (
    UPDATE devices SET tracking_until = greatest(coalesce(tracking_until, $5), $5)
     WHERE id = $4 AND EXISTS (SELECT 1 FROM claimed))
  SELECT (SELECT count(*) FROM claimed)::int AS claimed,
         (SELECT count(*) FROM (
            SELECT graphile_worker.add_job('alarm_step', $6::json, run_at => $7, job_key => $8, max_attempts => 1)
              FROM claimed WHERE $2::uuid IS NOT NULL) job)::int AS jobs`;

/**
 * Claims an alarm (idempotent across processes); false when it is not open or another process has it.
 * `onRouted` is called once the routing row is committed (or the claim gave up).
 */
export async function claimAlarm(
  { deps, log, trackingMs }: ClaimContext,
  alarmId: string,
  onRouted?: () => void,
): Promise<boolean> {
  const outcome = await (async () => {
    const now = deps.clock.now();
    // The alarm and its rule side by side: one round trip's wait, not two.
    const [alarm, found] = await Promise.all([
      loadAlarmRow(deps.pool, alarmId),
      findRuleForAlarm(deps.pool, alarmId, now),
    ]);
    if (alarm?.state !== "open") return undefined;
    const rule = found && found.steps.length > 0 ? found : undefined;
    // The window counts from when the wearer raised it (a late-delivered alarm has less of it left);
    // a device clock ahead of ours must not delay alerting: never later than now + the window.
    const windowS = rule ? cancelWindowSecondsOf(rule, alarm.type) : 0;
    const windowEnd = new Date(Math.min(alarm.raised_at.getTime(), now.getTime()) + windowS * 1000);
    const windowed = windowS > 0 && windowEnd > now;
    // Alarms from the wearer (and leaving a safe zone) turn tracking on; low battery or no contact do not.
    const track = alarm.source === "device" || alarm.type === "geofence_exit";
    const until = new Date(now.getTime() + trackingMs);
    // A job at run_at, not a timer: the window outlives a restart, and step 1 finds a cancelled alarm closed.
    const { rows } = await deps.pool.query<{ claimed: number }>(CLAIM_SQL, [
      alarmId,
      rule?.id ?? null,
      windowed ? windowEnd : null,
      track ? alarm.device_id : null,
      until,
      JSON.stringify({ alarmId, run: 1 }),
      windowed ? windowEnd : null,
      `alarm:${alarmId}`,
    ]);
    if (rows[0]?.claimed !== 1) return undefined;
    return { serial: alarm.serial, until, deviceId: alarm.device_id, track, windowed };
  })().finally(() => onRouted?.());
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
