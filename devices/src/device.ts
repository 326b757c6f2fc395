/**
 * One simulated device, without any network: time goes in through `tick(now)`,
 * downlink messages through `handleDownlink`, scripted events through `apply`;
 * what it wants published comes out as `Uplink`s, what happened as `Note`s.
 * The simulator moves those over MQTT and counts them.
 */
import {
  type CommandMessage,
  type ConfigMessage,
  type DeviceAlarmType,
  type DeviceSettings,
  type DownlinkKind,
  defaultDeviceSettings,
  type Fix,
} from "@vakt/schemas";
import { type BatteryParams, type BatteryState, initialBattery, isDead, stepBattery } from "./battery";
import { AlarmLedger, parseDownlink, SeenCommands } from "./device-downlink";
import { Held } from "./device-held";
import { type DeviceEvent, emptyOutput, merge, type Output, type Uplink } from "./device-output";
import { scriptedWalk } from "./device-scripted";
import { alarmUplink, batchUplink, fixOf, positionUplink, statusUplink } from "./device-uplinks";
import { type MalformedKind, malform } from "./malformed";
import {
  initialMovement,
  type MovementParams,
  type MovementState,
  stepMovement,
  walkTo,
  wanderTarget,
} from "./movement";
import type { SimDevice, SimOptions } from "./options";
import { resolvedBattery, resolvedMovement } from "./options";
import { chance, happensWithin, pick, type Random, token, uniform } from "./random";

export type { DeviceEvent, Note, Output, Uplink } from "./device-output";

const fallRate: Record<DeviceSettings["fallDetection"], number> = { off: 0, low: 0.5, medium: 1, high: 1.5 };

export class SimulatedDevice {
  readonly serial: string;
  movement: MovementState;
  battery: BatteryState;
  /** Device clock minus true time. */
  skewMs: number;
  settings: DeviceSettings;
  configVersion: number | undefined;
  trackingUntilMs: number | undefined;
  silentUntilMs: number | undefined;

  private readonly movementParams: MovementParams;
  private readonly batteryParams: BatteryParams;
  private readonly bootId: string;
  private seq = 0;
  private lastTickMs: number | undefined;
  private nextHeartbeatMs = Number.POSITIVE_INFINITY;
  private nextPositionMs = Number.POSITIVE_INFINITY;
  private pendingCancels: { alarmId: string; atMs: number }[] = [];
  private readonly alarms = new AlarmLedger();
  private readonly seenCommands = new SeenCommands();
  private readonly held = new Held();
  private lastUplink: Uplink | undefined;

  constructor(
    device: SimDevice,
    private readonly options: SimOptions,
    private readonly random: Random,
    nowMs: number,
  ) {
    this.serial = device.serial;
    this.movementParams = resolvedMovement(options);
    this.batteryParams = resolvedBattery(options);
    this.movement = initialMovement(device.home, random, this.movementParams);
    this.battery = initialBattery(random, this.batteryParams);
    this.skewMs = chance(random, options.skewRate)
      ? Math.round(uniform(random, -1, 1) * options.skewMaxMs)
      : 0;
    this.settings = {
      ...defaultDeviceSettings,
      trackingEnabled: options.tracking,
      reportIntervalS: options.reportIntervalS,
      heartbeatIntervalS: options.heartbeatIntervalS,
    };
    this.configVersion = undefined;
    this.trackingUntilMs = undefined;
    this.silentUntilMs = undefined;
    // Unique across runs (time) and devices (random), short enough for the 64-character id limit.
    this.bootId = `${nowMs.toString(36)}${token(random, 4)}`;
  }

  /** Device time: what it writes into `t`. */
  deviceTime(nowMs: number): number {
    return Math.round(nowMs + this.skewMs);
  }

  isTracking(nowMs: number): boolean {
    return (
      this.settings.trackingEnabled || (this.trackingUntilMs !== undefined && nowMs < this.trackingUntilMs)
    );
  }

  isSilent(nowMs: number): boolean {
    return this.silentUntilMs !== undefined && nowMs < this.silentUntilMs;
  }

  isOff(): boolean {
    return isDead(this.battery);
  }

  /** Alarms sent and not yet acknowledged. */
  unackedAlarms(): string[] {
    return this.alarms.unacked();
  }

  /** The device came online (first connection): boot status and a position, schedules start. */
  boot(nowMs: number): Output {
    const out = emptyOutput();
    this.lastTickMs = nowMs;
    // Spread heartbeats so that devices started together do not report together.
    this.nextHeartbeatMs = nowMs + this.settings.heartbeatIntervalS * 1000 * uniform(this.random, 0.1, 1);
    this.nextPositionMs = nowMs + this.settings.reportIntervalS * 1000 * uniform(this.random, 0.1, 1);
    if (this.isOff()) return out;
    this.emit(out, nowMs, this.statusUplink(nowMs));
    this.emit(out, nowMs, this.positionUplink(nowMs));
    return out;
  }

  tick(nowMs: number): Output {
    const out = emptyOutput();
    const last = this.lastTickMs;
    if (last === undefined || nowMs <= last) return out;
    this.lastTickMs = nowMs;
    const dtS = (nowMs - last) / 1000;

    const wasOff = this.isOff();
    const wasSilent = this.silentUntilMs !== undefined;
    this.battery = stepBattery(
      this.battery,
      dtS,
      { tracking: this.isTracking(nowMs) },
      this.random,
      this.batteryParams,
    );
    this.movement = stepMovement(this.movement, dtS, this.random, this.movementParams);

    if (this.isOff()) {
      if (!wasOff) {
        out.notes.push({ type: "power_off" });
        this.emit(out, nowMs, this.alarmUplink(nowMs, "power_off"));
      }
      return out;
    }
    if (wasOff) {
      out.notes.push({ type: "power_on" });
      this.emit(out, nowMs, this.statusUplink(nowMs));
      this.nextHeartbeatMs = nowMs + this.settings.heartbeatIntervalS * 1000;
    }

    this.randomEvents(out, nowMs, dtS);

    for (const cancel of this.pendingCancels.filter((c) => c.atMs <= nowMs)) {
      this.emit(out, nowMs, this.alarmUplink(nowMs, "fall", cancel.alarmId));
    }
    this.pendingCancels = this.pendingCancels.filter((c) => c.atMs > nowMs);

    if (this.isSilent(nowMs)) {
      if (this.isTracking(nowMs) && nowMs >= this.nextPositionMs) {
        this.held.fix(this.fix(nowMs));
        this.nextPositionMs = nowMs + this.settings.reportIntervalS * 1000;
      }
      return out;
    }
    if (wasSilent) this.endSilence(out, nowMs);

    const tracking = this.isTracking(nowMs);
    if (nowMs >= this.nextHeartbeatMs) {
      this.emit(out, nowMs, this.statusUplink(nowMs));
      if (!tracking) this.emit(out, nowMs, this.positionUplink(nowMs));
      this.nextHeartbeatMs = nextDue(this.nextHeartbeatMs, this.settings.heartbeatIntervalS * 1000, nowMs);
    }
    if (tracking && nowMs >= this.nextPositionMs) {
      this.emit(out, nowMs, this.positionUplink(nowMs));
      this.nextPositionMs = nextDue(this.nextPositionMs, this.settings.reportIntervalS * 1000, nowMs);
    }
    return out;
  }

  private randomEvents(out: Output, nowMs: number, dtS: number) {
    const o = this.options;
    if (happensWithin(this.random, o.sosPerHour, dtS)) this.raise(out, nowMs, "sos");
    if (happensWithin(this.random, o.fallPerHour * fallRate[this.settings.fallDetection], dtS)) {
      const id = this.raise(out, nowMs, "fall");
      if (chance(this.random, o.fallCancelRate)) {
        this.pendingCancels.push({ alarmId: id, atMs: nowMs + o.fallCancelAfterS * 1000 });
      }
    }
    if (happensWithin(this.random, o.wanderPerHour, dtS)) {
      this.movement = walkTo(this.movement, wanderTarget(this.movement.home, o.geofenceRadiusM, this.random));
    }
    if (!this.isSilent(nowMs) && happensWithin(this.random, o.silencePerHour, dtS)) {
      this.silence(out, nowMs, uniform(this.random, o.silenceMinS, o.silenceMaxS) * 1000);
    }
  }

  private raise(out: Output, nowMs: number, type: DeviceAlarmType): string {
    const uplink = this.alarmUplink(nowMs, type);
    this.emit(out, nowMs, uplink);
    return uplink.id ?? "";
  }

  private silence(out: Output, nowMs: number, forMs: number) {
    this.silentUntilMs = nowMs + forMs;
    out.notes.push({ type: "silent", untilMs: this.silentUntilMs });
  }

  private endSilence(out: Output, nowMs: number) {
    this.silentUntilMs = undefined;
    const { alarms, fixes, downlinks } = this.held.take();
    for (const u of alarms) this.emit(out, nowMs, u);
    if (fixes.length > 0) {
      this.emit(out, nowMs, batchUplink(this.nextId(), fixes));
    }
    // Back online: report, then take what the broker kept for it.
    this.emit(out, nowMs, this.statusUplink(nowMs));
    this.nextHeartbeatMs = nowMs + this.settings.heartbeatIntervalS * 1000;
    for (const d of downlinks) merge(out, this.handleDownlink(d.kind, d.payload, nowMs));
  }

  /** Publishes (or, while silent, holds) an uplink; adds redeliveries and malformed companions. */
  private emit(out: Output, nowMs: number, uplink: Uplink) {
    if (this.isSilent(nowMs)) {
      // Statuses and positions are regenerated after silence; alarms wait.
      if (uplink.kind === "alarm") this.held.alarm(uplink);
      return;
    }
    out.uplinks.push(uplink);
    this.lastUplink = uplink;
    if (uplink.alarmType && uplink.id) this.alarms.sentAt(uplink.id, nowMs);
    if (chance(this.random, this.options.redeliveryRate)) out.uplinks.push({ ...uplink, redelivery: true });
    if (chance(this.random, this.options.malformedRate)) {
      out.uplinks.push(this.malformedUplink(nowMs, pick(this.random, this.options.malformedKinds), uplink));
    }
  }

  private malformedUplink(nowMs: number, kind: MalformedKind, base?: Uplink): Uplink {
    const source = base && base.malformed === undefined ? base : this.positionUplink(nowMs);
    const message = JSON.parse(source.payload) as Record<string, unknown>;
    message.id = this.nextId();
    const broken = malform(kind, source.kind, message, this.options);
    return { kind: broken.kind, payload: broken.payload, malformed: kind };
  }

  apply(event: DeviceEvent, nowMs: number): Output {
    const out = emptyOutput();
    switch (event.event) {
      case "sos":
        this.raise(out, nowMs, "sos");
        break;
      case "fall": {
        const id = this.raise(out, nowMs, "fall");
        if (event.cancelAfterMs !== undefined)
          this.pendingCancels.push({ alarmId: id, atMs: nowMs + event.cancelAfterMs });
        break;
      }
      case "walk_to":
      case "wander":
      case "go_home":
        this.movement = scriptedWalk(this.movement, event, this.random, this.options.geofenceRadiusM);
        break;
      case "silence":
        this.silence(out, nowMs, event.forMs);
        break;
      case "battery":
        this.battery = { ...this.battery, pct: event.pct, charging: event.charging ?? this.battery.charging };
        break;
      case "malformed":
        this.emit(out, nowMs, this.malformedUplink(nowMs, event.kind));
        break;
      case "redeliver":
        if (this.lastUplink) this.emit(out, nowMs, { ...this.lastUplink, redelivery: true });
        break;
      case "skew":
        this.skewMs = event.ms;
        break;
      case "position":
        this.emit(out, nowMs, this.positionUplink(nowMs));
        break;
      case "status":
        this.emit(out, nowMs, this.statusUplink(nowMs));
        break;
    }
    return out;
  }

  handleDownlink(kind: DownlinkKind, payload: string, nowMs: number): Output {
    const out = emptyOutput();
    if (this.isSilent(nowMs) || this.isOff()) {
      // Offline: the broker keeps it (persistent session) until the device is back.
      this.held.downlink(kind, payload);
      return out;
    }
    const parsed = parseDownlink(kind, payload);
    if (!parsed.ok) out.notes.push({ type: "invalid_downlink", kind, reason: parsed.reason });
    else if (parsed.kind === "config") this.applyConfig(out, parsed.message, nowMs);
    else if (parsed.kind === "ack") out.notes.push(this.alarms.ack(parsed.message, nowMs));
    else this.applyCommand(out, parsed.message, nowMs);
    return out;
  }

  private applyConfig(out: Output, config: ConfigMessage, nowMs: number) {
    // The retained configuration comes again on every reconnect: apply a version once.
    if (config.version === this.configVersion) return;
    const previous = this.settings;
    this.settings = config.settings;
    this.configVersion = config.version;
    if (config.settings.heartbeatIntervalS !== previous.heartbeatIntervalS) {
      this.nextHeartbeatMs = Math.min(
        this.nextHeartbeatMs,
        nowMs + config.settings.heartbeatIntervalS * 1000,
      );
    }
    if (config.settings.reportIntervalS !== previous.reportIntervalS || !previous.trackingEnabled) {
      this.nextPositionMs = Math.min(this.nextPositionMs, nowMs + config.settings.reportIntervalS * 1000);
    }
    out.notes.push({ type: "config_applied", version: config.version });
    // Confirm at once: the next status carries the version it now runs.
    this.emit(out, nowMs, this.statusUplink(nowMs));
  }

  private applyCommand(out: Output, command: CommandMessage, nowMs: number) {
    if (this.seenCommands.repeat(command.id)) {
      out.notes.push({ type: "duplicate_command", id: command.id });
      return;
    }
    out.notes.push({ type: "command", command: command.command, id: command.id });
    switch (command.command) {
      case "locate":
        this.emit(out, nowMs, this.positionUplink(nowMs));
        break;
      case "track":
        this.trackingUntilMs = command.untilMs;
        this.emit(out, nowMs, this.positionUplink(nowMs));
        this.nextPositionMs = nowMs + this.settings.reportIntervalS * 1000;
        break;
      case "stop_tracking":
        this.trackingUntilMs = undefined;
        break;
    }
  }

  private nextId(): string {
    this.seq += 1;
    return `${this.bootId}-${this.seq.toString(36)}`;
  }

  fix(nowMs: number): Fix {
    return fixOf(this.movement, this.random, this.deviceTime(nowMs), this.battery);
  }

  private positionUplink(nowMs: number): Uplink {
    return positionUplink(this.nextId(), this.fix(nowMs));
  }

  private statusUplink(nowMs: number): Uplink {
    return statusUplink({
      id: this.nextId(),
      t: this.deviceTime(nowMs),
      battery: this.battery,
      random: this.random,
      firmware: this.options.firmware,
      configVersion: this.configVersion,
      settings: this.settings,
    });
  }

  private alarmUplink(nowMs: number, type: DeviceAlarmType, cancels?: string): Uplink {
    const id = this.nextId();
    const t = this.deviceTime(nowMs);
    const fix = this.fix(nowMs);
    return alarmUplink({ id, t, type, fix, battery: this.battery, ...(cancels ? { cancels } : {}) });
  }
}

/** The next time on a fixed schedule (ticks arriving a little late do not drift it), never in the past. */
function nextDue(dueMs: number, intervalMs: number, nowMs: number): number {
  const next = dueMs + intervalMs;
  return next > nowMs ? next : nowMs + intervalMs;
}
