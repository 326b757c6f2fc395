/**
 * How a device is read from the database: its row (with the newest signal and firmware from
 * device_status), the row's mapping to the API's Device, and the lock a change takes on it.
 */
import {
  type Device,
  type DeviceProtocol,
  type DeviceSettings,
  defaultDeviceSettings,
  deviceSettings,
} from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import type { Caller } from "../activity/writer";
import type { Actor } from "../policy";
import { found, iso } from "../service-helpers";

export type ActorCaller = Caller & { actor: Actor };

export interface DeviceRow {
  id: string;
  department_id: string;
  serial: string;
  protocol: DeviceProtocol;
  imei: string | null;
  model: string;
  recipient_id: string | null;
  desired_config: unknown;
  desired_config_version: number;
  reported_config: unknown;
  reported_config_version: number | null;
  last_seen_at: Date | null;
  battery_percent: number | null;
  charging: boolean | null;
  signal_dbm: number | null;
  firmware: string | null;
  online: boolean;
  retired_at: Date | null;
}
const DEVICE_COLUMNS = `d.id, d.department_id, d.serial, d.protocol, d.imei, d.model, d.recipient_id, d.desired_config,
  d.desired_config_version, d.reported_config, d.reported_config_version, d.last_seen_at, d.battery_percent, d.charging,
  d.online, d.retired_at, st.signal_dbm, st.firmware`;
/**
 * Signal and firmware come from the newest status that carried each (device_status, kept up to 90
 * days), which need not be the same status: one LATERAL join per device row, whose two look-ups each
 * walk the (device_id, time DESC) key back to the first status that has the value.
 */
const WITH_STATUS = `LEFT JOIN LATERAL (
    SELECT (SELECT s.signal_dbm FROM device_status s
             WHERE s.device_id = d.id AND s.signal_dbm IS NOT NULL ORDER BY s.time DESC LIMIT 1) AS signal_dbm,
           (SELECT s.firmware FROM device_status s
             WHERE s.device_id = d.id AND s.firmware IS NOT NULL ORDER BY s.time DESC LIMIT 1) AS firmware
  ) st ON true`;
/** Devices (as `d`) with their status; `FOR UPDATE` after it must say `OF d` (the join's side may be null). */
export const SELECT_DEVICES = `SELECT ${DEVICE_COLUMNS} FROM devices d ${WITH_STATUS}`;
/** An INSERT or UPDATE of devices (without RETURNING), answering the rows it wrote with their status. */
export const returningDevices = (write: string) =>
  `WITH d AS (${write} RETURNING devices.*) SELECT ${DEVICE_COLUMNS} FROM d ${WITH_STATUS}`;

/** Stored configuration merged over the defaults (older rows may hold '{}'). */
export function settingsOf(raw: unknown): DeviceSettings {
  const parsed = deviceSettings.safeParse({ ...defaultDeviceSettings, ...(raw as object) });
  return parsed.success ? parsed.data : defaultDeviceSettings;
}

export const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  departmentId: r.department_id,
  serial: r.serial,
  protocol: r.protocol,
  imei: r.imei,
  model: r.model,
  recipientId: r.recipient_id,
  desiredConfig: settingsOf(r.desired_config),
  desiredConfigVersion: r.desired_config_version,
  // What the device said it runs; shown beside the desired settings, so never defaulted.
  reportedConfig:
    r.reported_config === null ? null : (deviceSettings.safeParse(r.reported_config).data ?? null),
  reportedConfigVersion: r.reported_config_version,
  configState:
    r.protocol === "osmand"
      ? "not_applicable"
      : r.reported_config_version === r.desired_config_version
        ? "confirmed"
        : "pending",
  lastSeenAt: iso(r.last_seen_at),
  batteryPercent: r.battery_percent,
  charging: r.charging,
  signalDbm: r.signal_dbm,
  firmware: r.firmware,
  online: r.online,
  retiredAt: iso(r.retired_at),
});

export async function lockDevice(tx: Queryable, caller: ActorCaller, allowed: string[], id: string) {
  return found(
    (
      await tx.query<DeviceRow>(
        `${SELECT_DEVICES} WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
         FOR UPDATE OF d`,
        [caller.organisationId, allowed, id],
      )
    ).rows[0],
    "device",
  );
}
