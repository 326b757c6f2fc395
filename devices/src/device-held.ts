/**
 * What a silent (or powered-off) simulated device keeps for when it is back: its alarms, its tracked
 * fixes (the last 100, sent as one batch), and the downlink a persistent session would have kept.
 */
import type { DownlinkKind, Fix } from "@vakt/schemas";
import type { Uplink } from "./device-output";

const MAX_BATCH = 100;

export class Held {
  private alarms: Uplink[] = [];
  private fixes: Fix[] = [];
  private downlinks: { kind: DownlinkKind; payload: string }[] = [];

  alarm(uplink: Uplink) {
    this.alarms.push(uplink);
  }

  fix(fix: Fix) {
    this.fixes.push(fix);
    this.fixes = this.fixes.slice(-MAX_BATCH);
  }

  downlink(kind: DownlinkKind, payload: string) {
    this.downlinks.push({ kind, payload });
  }

  /** Everything held, and holds nothing after. */
  take() {
    const taken = { alarms: this.alarms, fixes: this.fixes, downlinks: this.downlinks };
    this.alarms = [];
    this.fixes = [];
    this.downlinks = [];
    return taken;
  }
}
