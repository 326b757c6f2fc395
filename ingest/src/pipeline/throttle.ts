import type { DeviceUpdate } from "./devices";

/**
 * Keeps ingest from rewriting every device row in every batch: a device's
 * row is updated when something in it changes (battery, charging, online,
 * reported configuration) or when its last_seen_at is older than
 * `refreshMs`. At tens of thousands of positions a second this turns one
 * row lock per device per batch into one per device every few seconds.
 */
export class DeviceRowThrottle {
  private readonly written = new Map<
    string,
    { at: number; battery: number | null; charging: boolean | null; online: boolean }
  >();

  constructor(private readonly refreshMs = 10_000) {}

  readonly wants = (u: DeviceUpdate): boolean => {
    const w = this.written.get(u.device.id);
    if (!w) return true;
    const s = u.seen;
    return (
      s.reportedConfig !== null ||
      s.online !== w.online ||
      (s.batteryPct !== null && Math.round(s.batteryPct) !== w.battery) ||
      (s.charging !== null && s.charging !== w.charging) ||
      (s.at > 0 && s.at - w.at >= this.refreshMs)
    );
  };

  /** After commit: remember what the rows now hold. */
  record(written: DeviceUpdate[]): void {
    for (const { device, seen } of written) {
      const prev = this.written.get(device.id);
      this.written.set(device.id, {
        at: seen.at > 0 ? seen.at : (prev?.at ?? 0),
        battery: seen.batteryPct !== null ? Math.round(seen.batteryPct) : (prev?.battery ?? null),
        charging: seen.charging ?? prev?.charging ?? null,
        online: seen.online,
      });
    }
  }

  forget(deviceId?: string): void {
    if (deviceId === undefined) this.written.clear();
    else this.written.delete(deviceId);
  }
}
