/** The valid uplink messages a simulated device sends (position, status, alarm), as `Uplink`s. */
import type {
  AlarmMessage,
  DeviceAlarmType,
  DeviceSettings,
  Fix,
  PositionMessage,
  StatusMessage,
} from "@vakt/schemas";
import { type BatteryState, reportedPct } from "./battery";
import type { Uplink } from "./device-output";
import { type MovementState, observe } from "./movement";
import { gaussian, type Random } from "./random";

/** A fix of where the wearer is now, stamped with device time `t`. */
export function fixOf(movement: MovementState, random: Random, t: number, battery: BatteryState): Fix {
  const o = observe(movement, random);
  const fix: Fix = { t, lat: o.lat, lon: o.lon, accM: o.accM, source: o.source };
  if (o.speedMps !== undefined) fix.speedMps = o.speedMps;
  if (o.headingDeg !== undefined) fix.headingDeg = o.headingDeg;
  fix.batteryPct = reportedPct(battery);
  return fix;
}

export function positionUplink(id: string, fix: Fix): Uplink {
  const message: PositionMessage = { v: 1, id, fix };
  return { kind: "position", payload: JSON.stringify(message), id: message.id };
}

/** Positions held while silent, sent as one message. */
export function batchUplink(id: string, fixes: Fix[]): Uplink {
  const message: PositionMessage = { v: 1, id, fixes };
  return { kind: "position", payload: JSON.stringify(message), id: message.id };
}

export interface StatusInput {
  id: string;
  t: number;
  battery: BatteryState;
  random: Random;
  firmware: string;
  configVersion: number | undefined;
  settings: DeviceSettings;
}

export function statusUplink(s: StatusInput): Uplink {
  const message: StatusMessage = {
    v: 1,
    id: s.id,
    t: s.t,
    batteryPct: reportedPct(s.battery),
    charging: s.battery.charging,
    signalDbm: Math.max(-120, Math.min(-50, Math.round(-85 + gaussian(s.random) * 8))),
    firmware: s.firmware,
  };
  if (s.configVersion !== undefined) {
    message.reportedConfig = { version: s.configVersion, settings: s.settings };
  }
  return { kind: "status", payload: JSON.stringify(message), id: message.id };
}

export interface AlarmInput {
  id: string;
  t: number;
  type: DeviceAlarmType;
  fix: Fix;
  battery: BatteryState;
  cancels?: string;
}

export function alarmUplink(a: AlarmInput): Uplink {
  const message: AlarmMessage = {
    v: 1,
    id: a.id,
    t: a.t,
    type: a.type,
    fix: a.fix,
    batteryPct: reportedPct(a.battery),
  };
  if (a.cancels) message.cancels = a.cancels;
  return { kind: "alarm", payload: JSON.stringify(message), id: message.id, alarmType: a.type };
}
