/** The alarm's cancel window on its timeline (alarm detail), derived from stored rows: no table of its own. */
import type { AlarmCancelWindow, AlarmTransition } from "@vakt/schemas";
import type { AlarmRow } from "./service";

/**
 * The cancel window as the timeline shows it, from what is stored: routing's claim and window end,
 * and the first transition out of open. One at or before the end ended the window (nobody was
 * alerted); none by then, the window ran out and routing started.
 */
export function cancelWindowOf(
  row: Pick<AlarmRow, "raised_at" | "cancel_until" | "routing_claimed_at">,
  transitions: readonly AlarmTransition[],
  now: Date,
): AlarmCancelWindow | null {
  const end = row.cancel_until;
  const opened = row.routing_claimed_at;
  if (!end || !opened) return null;
  const from = Math.min(row.raised_at.getTime(), opened.getTime());
  const window = {
    openedAt: opened.toISOString(),
    seconds: Math.round((end.getTime() - from) / 1000),
    endsAt: end.toISOString(),
  };
  // Routing claims only an open alarm, so the first transition out of open came after the claim.
  const left = transitions.find(
    (t) =>
      t.fromState === "open" &&
      (t.toState === "acknowledged" || t.toState === "resolved" || t.toState === "cancelled"),
  );
  if (left && Date.parse(left.at) <= end.getTime()) {
    const how =
      left.toState === "acknowledged"
        ? ("taken" as const)
        : left.toState === "resolved"
          ? ("resolved" as const)
          : left.details.source === "device"
            ? ("cancelled_on_device" as const)
            : ("cancelled" as const);
    return {
      ...window,
      ended: { at: left.at, how, actor: how === "cancelled_on_device" ? null : left.actor },
    };
  }
  if (end.getTime() > now.getTime()) return { ...window, ended: null };
  return { ...window, ended: { at: window.endsAt, how: "routed", actor: null } };
}
