/**
 * The alarm history screen's arithmetic: time to take and to resolve, one
 * timeline from an alarm's transitions and deliveries, and the CSV export.
 * Pure, so it is tested without a browser.
 */
import type { AlarmDelivery, AlarmSummary, AlarmTransition } from "@vakt/schemas";

/** Milliseconds from raised to taken, or null when nobody took it. */
export function timeToTake(a: Pick<AlarmSummary, "raisedAt" | "acknowledgedAt">): number | null {
  return a.acknowledgedAt ? Math.max(0, Date.parse(a.acknowledgedAt) - Date.parse(a.raisedAt)) : null;
}

/** Milliseconds from raised to resolved or cancelled, or null while it is still open. */
export function timeToClose(a: Pick<AlarmSummary, "raisedAt" | "closedAt">): number | null {
  return a.closedAt ? Math.max(0, Date.parse(a.closedAt) - Date.parse(a.raisedAt)) : null;
}

/** "45 s", "3 min 20 s", "2 h 5 min": short enough for a table cell, the same in both languages. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

export type TimelineItem =
  | { kind: "transition"; at: string; transition: AlarmTransition }
  | { kind: "delivery"; at: string; delivery: AlarmDelivery };

/** Transitions and deliveries in time order; at the same instant a transition (the escalation) comes first. */
export function timeline(
  transitions: readonly AlarmTransition[],
  deliveries: readonly AlarmDelivery[],
): TimelineItem[] {
  const items: TimelineItem[] = [
    ...transitions.map((t) => ({ kind: "transition" as const, at: t.at, transition: t })),
    ...deliveries.map((d) => ({ kind: "delivery" as const, at: d.at, delivery: d })),
  ];
  return items
    .map((item, i) => ({ item, i }))
    .sort(
      (x, y) =>
        Date.parse(x.item.at) - Date.parse(y.item.at) ||
        (x.item.kind === y.item.kind ? 0 : x.item.kind === "transition" ? -1 : 1) ||
        x.i - y.i,
    )
    .map((x) => x.item);
}

/**
 * One CSV cell: quoted when it holds a separator, quote or line break, and
 * with a leading apostrophe when a spreadsheet would run it as a formula (a
 * note typed by staff or a name can start with "=").
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",;\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const CSV_COLUMNS = [
  "id",
  "raised_at",
  "type",
  "severity",
  "state",
  "outcome",
  "department",
  "recipient",
  "device_serial",
  "taken_by",
  "taken_at",
  "closed_at",
  "seconds_to_take",
  "seconds_to_close",
] as const;

/** The history as CSV (RFC 4180, CRLF), one row per alarm, times in ISO 8601 UTC. */
export function historyCsv(alarms: readonly AlarmSummary[]): string {
  const secs = (ms: number | null) => (ms === null ? null : Math.round(ms / 1000));
  const rows = alarms.map((a) =>
    [
      a.id,
      a.raisedAt,
      a.type,
      a.severity,
      a.state,
      a.outcome,
      a.department.name,
      a.recipient
        ? `${a.recipient.firstName ?? ""} ${a.recipient.lastName ?? ""}`.trim() || a.recipient.id
        : null,
      a.device.serial,
      a.assignee?.name ?? null,
      a.acknowledgedAt,
      a.closedAt,
      secs(timeToTake(a)),
      secs(timeToClose(a)),
    ]
      .map(csvCell)
      .join(","),
  );
  return `${[CSV_COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}
