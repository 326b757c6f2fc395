/** What a recipient's marker shows, most urgent first. */
export type MarkerState = "alarm" | "no_contact" | "low_battery" | "outdated" | "fine";

export interface RecipientSnapshot {
  openAlarms: number;
  online: boolean;
  batteryPct: number | null;
  lowBatteryPct: number;
  /** Epoch ms of the last position, or null when none is known. */
  lastFixAt: number | null;
}

/** A position older than this is shown as outdated (Safemate's default is 7 days; care staff need hours). */
export const OUTDATED_AFTER_MS = 60 * 60_000;

export function markerState(r: RecipientSnapshot, nowMs: number): MarkerState {
  if (r.openAlarms > 0) return "alarm";
  if (!r.online) return "no_contact";
  if (r.batteryPct !== null && r.batteryPct <= r.lowBatteryPct) return "low_battery";
  if (r.lastFixAt === null || nowMs - r.lastFixAt > OUTDATED_AFTER_MS) return "outdated";
  return "fine";
}
