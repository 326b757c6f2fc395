/**
 * Claiming a new alarm: the first API process to INSERT its alarm_routing row owns it. It turns
 * tracking on for the device and starts the rule's escalation, after the cancel window when the
 * rule (or a fall) has one. The same statement answers the alarm as it is once claimed, which the
 * live fan-out pushes: a console hears of a new alarm only with its routing row committed, so the
 * push carries the cancel window (a fall must not sound while the wearer may still cancel it) and
 * a console that takes the alarm at once finds it routed and tracking on.
 */
import type pg from "pg";
import { ALARM_SELECT, type AlarmRow, commandId, loadAlarmRowPrepared } from "../alarms/service";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import { ruleForAlarmSql } from "./rules";

export interface ClaimContext {
  deps: ApiDeps & { bus: Bus };
  /** Where the claim runs: the alarm path's own pool, so it never queues behind other work. */
  db: pg.Pool;
  log: ApiDeps["logger"];
  /** How long an alarm keeps its device tracking. */
  trackingMs: number;
}

/**
 * The claim in one statement, so one round trip between ingest's NOTIFY and the push: the alarm,
 * its rule (rules.ts) and cancel window; the routing row, if the alarm is still open and no
 * process has claimed it; tracking for its device; the rule's first step as a job at the window's
 * end; and the alarm row as the console is sent it. The window counts from when the wearer raised
 * the alarm (a late-delivered alarm has less of it left), never from later than now (a device
 * clock ahead of ours must not delay alerting), to the millisecond as JavaScript dates hold it.
 * $1 alarm, $2 now, $3 tracking's end, $4 the job's payload, $5 its key.
 */
const CLAIM_SQL = `
  WITH a AS (
    SELECT id, organisation_id, department_id, device_id, type, severity, source, state, raised_at
      FROM alarms WHERE id = $1),
  rule AS (${ruleForAlarmSql("$2::timestamptz")}),
  plan AS (
    SELECT a.id, a.organisation_id, a.device_id, rule.id AS rule_id,
           CASE WHEN s.window_s > 0 AND s.window_end > $2::timestamptz THEN s.window_end END AS cancel_until,
           -- Alarms from the wearer (and leaving a safe zone) turn tracking on; low battery or no contact do not.
           (a.source = 'device' OR a.type = 'geofence_exit') AS track
      FROM a
      -- A rule without steps routes nothing (and gives no window).
      LEFT JOIN rule ON jsonb_typeof(rule.steps) = 'array' AND jsonb_array_length(rule.steps) > 0
      CROSS JOIN LATERAL (
        SELECT w.window_s,
               date_trunc('milliseconds', least(a.raised_at, $2::timestamptz)) + w.window_s * interval '1 second'
                 AS window_end
          -- The rule's window, or 30 s for a fall (a detector's guess) and none otherwise.
          FROM (SELECT CASE WHEN rule.id IS NULL THEN 0
                            ELSE coalesce(rule.cancel_window_s, CASE WHEN a.type = 'fall' THEN 30 ELSE 0 END)
                       END AS window_s) w) s
     WHERE a.state = 'open'),
  claimed AS (
    INSERT INTO alarm_routing (alarm_id, organisation_id, status, rule_id, cancel_until)
    SELECT id, organisation_id, CASE WHEN rule_id IS NULL THEN 'no_rule' ELSE 'active' END, rule_id, cancel_until
      FROM plan
    ON CONFLICT (alarm_id) DO NOTHING
    RETURNING alarm_id, cancel_until, claimed_at),
  tracked AS (
    UPDATE devices d SET tracking_until = greatest(coalesce(d.tracking_until, $3), $3)
      FROM plan WHERE d.id = plan.device_id AND plan.track AND EXISTS (SELECT 1 FROM claimed)
    RETURNING d.tracking_until),
  -- A job at run_at, not a timer: the window outlives a restart, and step 1 finds a cancelled alarm closed.
  job AS (
    SELECT graphile_worker.add_job('alarm_step', $4::json, run_at => plan.cancel_until, job_key => $5,
                                   max_attempts => 1)
      FROM claimed, plan WHERE plan.rule_id IS NOT NULL)
  SELECT x.*, c.alarm_id IS NOT NULL AS claimed_now, c.cancel_until AS claimed_cancel_until,
         c.claimed_at AS claimed_at, t.tracking_until AS claimed_tracking_until,
         (SELECT count(*) FROM job)::int AS jobs
    FROM (SELECT 1) one
    LEFT JOIN (${ALARM_SELECT} WHERE a.id = $1) x ON true
    LEFT JOIN claimed c ON true
    LEFT JOIN tracked t ON true`;

type ClaimRow = Partial<AlarmRow> & {
  claimed_now: boolean;
  claimed_cancel_until: Date | null;
  claimed_at: Date | null;
  claimed_tracking_until: Date | null;
  jobs: number;
};

/**
 * Runs the claim statement: whether this process claimed the alarm, and the alarm as it is with its
 * routing committed (by this process or another), or undefined when there is no such alarm.
 */
export async function claimStatement(
  db: pg.Pool,
  alarmId: string,
  now: Date,
  trackingUntil: Date,
): Promise<{ claimed: boolean; row: AlarmRow | undefined }> {
  // Named: planned once per connection, not per alarm (planning costs more than running it).
  const { rows } = await db.query<ClaimRow>({
    name: "vakt-claim-alarm",
    text: CLAIM_SQL,
    values: [alarmId, now, trackingUntil, JSON.stringify({ alarmId, run: 1 }), `alarm:${alarmId}`],
  });
  const r = rows[0];
  if (!r || r.id == null) return { claimed: false, row: undefined };
  const { claimed_now, claimed_cancel_until, claimed_at, claimed_tracking_until, jobs: _, ...alarm } = r;
  const row = alarm as AlarmRow;
  if (claimed_now) {
    // The row was read in the statement's snapshot, before its own writes: take them from RETURNING.
    row.cancel_until = claimed_cancel_until;
    row.routing_claimed_at = claimed_at;
    if (claimed_tracking_until) row.tracking_until = claimed_tracking_until;
    return { claimed: true, row };
  }
  // Another process's claim, committed while this INSERT waited on it, is not in this snapshot:
  // read the alarm again (only then), so the push still carries that claim's window.
  if (row.state === "open" && row.routing_claimed_at === null)
    return { claimed: false, row: await loadAlarmRowPrepared(db, alarmId) };
  return { claimed: false, row };
}

/**
 * Claims an alarm (idempotent across processes); false when it is not open or another process has it.
 * `onRouted` is called with the alarm once its routing row is committed (undefined if the claim failed).
 */
export async function claimAlarm(
  { deps, db, log, trackingMs }: ClaimContext,
  alarmId: string,
  onRouted?: (row: AlarmRow | undefined) => void,
): Promise<boolean> {
  const now = deps.clock.now();
  const until = new Date(now.getTime() + trackingMs);
  const { claimed, row } = await claimStatement(db, alarmId, now, until).then(
    (outcome) => {
      onRouted?.(outcome.row);
      return outcome;
    },
    (err) => {
      onRouted?.(undefined);
      throw err;
    },
  );
  if (!claimed || !row) return false;
  // A console that had the alarm before the claim (a fetch) now learns its window's end.
  if (row.cancel_until) deps.bus.emit("alarm", { alarmId, change: "cancel_window" });
  const track = row.source === "device" || row.type === "geofence_exit";
  if (!track) return true;
  await deps.deviceCommands
    .publishCommand(row.serial, { v: 1, id: commandId("trk"), command: "track", untilMs: until.getTime() })
    .catch((err) => log.warn({ err, alarmId }, "track command failed"));
  deps.bus.emit("device", { deviceId: row.device_id });
  return true;
}
