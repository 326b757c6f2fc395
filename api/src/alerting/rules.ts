/**
 * Which alert rule an alarm follows: the rule of the deepest department on the alarm's ancestry
 * with an enabled rule matching its type, severity and the schedule (in the organisation's time zone).
 * The claim chooses it in SQL (ruleForAlarmSql), inside its one statement; scheduleActive is the
 * same schedule check in TypeScript, which the SQL is tested against.
 */
import type { EscalationStep } from "@vakt/schemas";

interface Window {
  days: number[];
  start: string;
  end: string;
}

export interface RuleRow {
  id: string;
  department_id: string;
  depth: number;
  alarm_types: string[] | null;
  severities: string[] | null;
  schedule: Window[] | null;
  steps: EscalationStep[];
  reminder_interval_s: number | null;
  max_reminders: number;
  cancel_window_s: number | null;
}

/** ISO weekday (1-7) and minutes since midnight of `at` in `timeZone` (Intl, so DST is right). */
export function localTime(at: Date, timeZone: string): { weekday: number; minutes: number } {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(get("weekday")) + 1;
  return { weekday, minutes: Number(get("hour")) * 60 + Number(get("minute")) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether a schedule (null: always) is on at `at`; a window ending before it starts runs past midnight. */
export function scheduleActive(schedule: Window[] | null, at: Date, timeZone: string): boolean {
  if (!schedule) return true;
  const { weekday, minutes } = localTime(at, timeZone);
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return schedule.some((w) => {
    const start = toMinutes(w.start);
    const end = toMinutes(w.end);
    if (start < end) return w.days.includes(weekday) && minutes >= start && minutes < end;
    // Overnight: the part after midnight belongs to the day the window started.
    return (w.days.includes(weekday) && minutes >= start) || (w.days.includes(yesterday) && minutes < end);
  });
}

/**
 * `scheduleActive` in SQL, for the rule `r` of organisation `o` at `$at` (timestamptz): the same
 * weekday and minute in the organisation's zone (PostgreSQL's tz database, the same IANA zones as
 * Intl), the same overnight windows. Checked against scheduleActive in rules.int.test.ts.
 */
export const scheduleActiveSql = (at: string) => `(
  r.schedule IS NULL OR jsonb_typeof(r.schedule) = 'null' OR EXISTS (
    SELECT 1 FROM jsonb_array_elements(r.schedule) w,
      LATERAL (SELECT ${at} AT TIME ZONE coalesce(nullif(o.time_zone, ''), 'Europe/Oslo') AS lt) l,
      LATERAL (SELECT extract(isodow FROM l.lt)::int AS wd,
                      (extract(hour FROM l.lt) * 60 + extract(minute FROM l.lt))::int AS m,
                      substr(w->>'start', 1, 2)::int * 60 + substr(w->>'start', 4, 2)::int AS s,
                      substr(w->>'end', 1, 2)::int * 60 + substr(w->>'end', 4, 2)::int AS e) t
     WHERE CASE WHEN t.s < t.e THEN w->'days' @> to_jsonb(t.wd) AND t.m >= t.s AND t.m < t.e
                ELSE (w->'days' @> to_jsonb(t.wd) AND t.m >= t.s)
                  OR (w->'days' @> to_jsonb(CASE WHEN t.wd = 1 THEN 7 ELSE t.wd - 1 END) AND t.m < t.e) END))`;

/**
 * The rule an alarm (CTE or table `a`) follows at `$at`, as rows of one (or none): the deepest
 * department's first enabled rule matching its type, severity and schedule.
 */
export const ruleForAlarmSql = (at: string) => `
  SELECT r.id, r.steps, r.cancel_window_s
    FROM a
    JOIN departments d ON d.organisation_id = a.organisation_id AND d.id = a.department_id
    JOIN alert_rules r ON r.organisation_id = d.organisation_id AND r.department_id = ANY(d.ancestry)
    JOIN organisations o ON o.id = d.organisation_id
   WHERE r.enabled
     AND (r.alarm_types IS NULL OR a.type = ANY(r.alarm_types))
     AND (r.severities IS NULL OR a.severity = ANY(r.severities))
     AND ${scheduleActiveSql(at)}
   ORDER BY array_position(d.ancestry, r.department_id) DESC, r.created_at, r.id
   LIMIT 1`;
