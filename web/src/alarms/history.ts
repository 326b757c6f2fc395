/**
 * The alarm history screen's arithmetic: time to take and to resolve, one
 * timeline from an alarm's transitions and deliveries, and the CSV export.
 * Pure, so it is tested without a browser.
 */
import {
  type AlarmCancelWindow,
  type AlarmDelivery,
  type AlarmSummary,
  type AlarmTransition,
  csvText,
} from "@vakt/schemas";
import type { MessageKey } from "../i18n/dict";

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
  | { kind: "window"; at: string; phase: "opened" | "ended"; window: AlarmCancelWindow }
  | { kind: "delivery"; at: string; delivery: AlarmDelivery };

const rank: Record<TimelineItem["kind"], number> = { transition: 0, window: 1, delivery: 2 };

/**
 * Transitions, the cancel window's opening and end, and deliveries in time order; at the same
 * instant a transition (the escalation, the cancel) comes first, then the window, then deliveries.
 */
export function timeline(
  transitions: readonly AlarmTransition[],
  deliveries: readonly AlarmDelivery[],
  cancelWindow: AlarmCancelWindow | null = null,
): TimelineItem[] {
  const items: TimelineItem[] = [
    ...transitions.map((t) => ({ kind: "transition" as const, at: t.at, transition: t })),
    ...(cancelWindow
      ? [
          {
            kind: "window" as const,
            at: cancelWindow.openedAt,
            phase: "opened" as const,
            window: cancelWindow,
          },
          ...(cancelWindow.ended
            ? [
                {
                  kind: "window" as const,
                  at: cancelWindow.ended.at,
                  phase: "ended" as const,
                  window: cancelWindow,
                },
              ]
            : []),
        ]
      : []),
    ...deliveries.map((d) => ({ kind: "delivery" as const, at: d.at, delivery: d })),
  ];
  return items
    .map((item, i) => ({ item, i }))
    .sort(
      (x, y) =>
        Date.parse(x.item.at) - Date.parse(y.item.at) || rank[x.item.kind] - rank[y.item.kind] || x.i - y.i,
    )
    .map((x) => x.item);
}

/** The dictionary key and values of a cancel window's row: opened, or how it ended and by whom. */
export function windowRow(
  phase: "opened" | "ended",
  w: AlarmCancelWindow,
): { key: MessageKey; values: Record<string, string | number> } {
  if (phase === "opened" || !w.ended) return { key: "history.window.opened", values: { seconds: w.seconds } };
  const who = w.ended.actor?.name ?? null;
  const how = w.ended.how;
  if (how === "routed" || how === "cancelled_on_device") return { key: `history.window.${how}`, values: {} };
  return who
    ? { key: `history.window.${how}`, values: { name: who } }
    : { key: `history.window.${how}Unnamed`, values: {} };
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
  const rows = alarms.map((a) => [
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
  ]);
  return csvText(CSV_COLUMNS, rows);
}
