/**
 * Battery of a wearable: drains faster while tracking, the wearer plugs it in
 * (not always promptly) once it runs low, it charges to full and is unplugged.
 * At 0 % and not charging the device is off.
 */
import { happensWithin, type Random, uniform } from "./random";

export interface BatteryParams {
  idleDrainPctPerHour: number;
  /** Extra drain while tracking (GPS and radio busy). */
  trackingDrainPctPerHour: number;
  chargePctPerHour: number;
  /** Once below their own threshold, how often per hour the wearer remembers to charge. */
  plugInPerHour: number;
  /** Each wearer plugs in somewhere between these levels. */
  plugInMinPct: number;
  plugInMaxPct: number;
}

export const defaultBatteryParams: BatteryParams = {
  idleDrainPctPerHour: 1.5,
  trackingDrainPctPerHour: 4,
  chargePctPerHour: 45,
  plugInPerHour: 0.5,
  plugInMinPct: 10,
  plugInMaxPct: 40,
};

export interface BatteryState {
  pct: number;
  charging: boolean;
  /** Level below which this wearer starts thinking about the charger. */
  plugInAtPct: number;
}

export function initialBattery(random: Random, params: BatteryParams = defaultBatteryParams): BatteryState {
  return {
    pct: uniform(random, 30, 100),
    charging: false,
    plugInAtPct: uniform(random, params.plugInMinPct, params.plugInMaxPct),
  };
}

/** Off: flat and not on the charger. */
export function isDead(battery: BatteryState): boolean {
  return battery.pct <= 0 && !battery.charging;
}

export function stepBattery(
  state: BatteryState,
  dtS: number,
  load: { tracking: boolean },
  random: Random,
  params: BatteryParams = defaultBatteryParams,
): BatteryState {
  if (dtS <= 0) return state;
  if (state.charging) {
    const pct = Math.min(100, state.pct + (params.chargePctPerHour * dtS) / 3600);
    if (pct >= 100) {
      return {
        pct: 100,
        charging: false,
        plugInAtPct: uniform(random, params.plugInMinPct, params.plugInMaxPct),
      };
    }
    return { ...state, pct };
  }
  const rate = params.idleDrainPctPerHour + (load.tracking ? params.trackingDrainPctPerHour : 0);
  const pct = state.pct <= 0 ? 0 : Math.max(0, state.pct - (rate * dtS) / 3600);
  const plugIn = pct <= state.plugInAtPct && happensWithin(random, params.plugInPerHour, dtS);
  return { ...state, pct, charging: plugIn };
}

/** The percentage as a device reports it: a whole number. */
export function reportedPct(battery: BatteryState): number {
  return Math.max(0, Math.min(100, Math.round(battery.pct)));
}
