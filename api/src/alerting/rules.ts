/**
 * Which alert rule an alarm follows: the rule of the deepest department on the alarm's ancestry
 * with an enabled rule matching its type, severity and the schedule (in the organisation's time zone).
 */
import type { EscalationStep } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";

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

/** Seconds of the cancel window: the rule's, or 30 s for a fall (a detector's guess) and none otherwise. */
export function cancelWindowSecondsOf(rule: { cancel_window_s: number | null }, alarmType: string): number {
  return rule.cancel_window_s ?? (alarmType === "fall" ? 30 : 0);
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

const RULES_SELECT = `SELECT r.id, r.department_id, array_position(d.ancestry, r.department_id) AS depth, r.alarm_types,
            r.severities, r.schedule, r.steps, r.reminder_interval_s, r.max_reminders, r.cancel_window_s, o.time_zone
       FROM departments d
       JOIN alert_rules r ON r.organisation_id = d.organisation_id AND r.department_id = ANY(d.ancestry)
       JOIN organisations o ON o.id = d.organisation_id`;
const RULES_ORDER = "ORDER BY depth DESC, r.created_at, r.id";

/**
 * The rule for an alarm, deepest department first, then the first matching rule there; found from
 * the alarm's id alone, so it can be read beside the alarm rather than after it.
 */
export async function findRuleForAlarm(
  db: Queryable,
  alarmId: string,
  at: Date,
): Promise<RuleRow | undefined> {
  const { rows } = await db.query<RuleRow & { time_zone: string }>(
    `${RULES_SELECT}
       JOIN alarms a ON a.organisation_id = d.organisation_id AND a.department_id = d.id
      WHERE a.id = $1 AND r.enabled
        AND (r.alarm_types IS NULL OR a.type = ANY(r.alarm_types))
        AND (r.severities IS NULL OR a.severity = ANY(r.severities))
      ${RULES_ORDER}`,
    [alarmId],
  );
  return firstActive(rows, at);
}

function firstActive(rows: (RuleRow & { time_zone: string })[], at: Date): RuleRow | undefined {
  return rows.find((r) => scheduleActive(r.schedule, at, r.time_zone || "Europe/Oslo"));
}
