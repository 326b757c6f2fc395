/** What the live map shows for each recipient, from positions, devices and open alarms: pure. */
import { type MarkerState, markerState } from "./marker-state";

export interface KnownPosition {
  recipientId: string;
  name: string | null;
  departmentId: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
  time: string;
  batteryPercent: number | null;
}

export interface KnownDevice {
  deviceId: string;
  recipientId: string | null;
  online: boolean;
  batteryPercent: number | null;
  lowBatteryPct: number;
  lastSeenAt: string | null;
}

export interface RecipientMarker extends KnownPosition {
  state: MarkerState;
  online: boolean | null;
  lastSeenAt: string | null;
}

/** Devices are optional: a caller without device:read still sees positions (battery from the fix). */
export function recipientMarkers(
  positions: Iterable<KnownPosition>,
  devices: ReadonlyMap<string, KnownDevice>,
  openAlarms: ReadonlyMap<string, number>,
  nowMs: number,
): RecipientMarker[] {
  const out: RecipientMarker[] = [];
  for (const p of positions) {
    const d = devices.get(p.recipientId);
    const battery = d?.batteryPercent ?? p.batteryPercent;
    out.push({
      ...p,
      batteryPercent: battery,
      online: d ? d.online : null,
      lastSeenAt: d?.lastSeenAt ?? p.time,
      state: markerState(
        {
          openAlarms: openAlarms.get(p.recipientId) ?? 0,
          online: d ? d.online : true,
          batteryPct: battery,
          lowBatteryPct: d?.lowBatteryPct ?? 20,
          lastFixAt: Date.parse(p.time),
        },
        nowMs,
      ),
    });
  }
  return out.sort(
    (a, b) => (a.name ?? "").localeCompare(b.name ?? "") || a.recipientId.localeCompare(b.recipientId),
  );
}

const rank: Record<MarkerState, number> = { alarm: 0, no_contact: 1, low_battery: 2, outdated: 3, fine: 4 };

/** A cluster shows its most urgent member's state. */
export function worstState(states: Iterable<MarkerState>): MarkerState {
  let worst: MarkerState = "fine";
  for (const s of states) if (rank[s] < rank[worst]) worst = s;
  return worst;
}
