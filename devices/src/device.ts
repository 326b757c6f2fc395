/**
 * One simulated device, without any network: time goes in through `tick(now)`,
 * downlink messages through `handleDownlink`, scripted events through `apply`;
 * what it wants published comes out as `Uplink`s, what happened as `Note`s.
 * The simulator moves those over MQTT and counts them.
 */
import {
  type AckMessage,
  type AlarmMessage,
  ackMessage,
  type CommandMessage,
  type ConfigMessage,
  commandMessage,
  configMessage,
  type DeviceAlarmType,
  type DeviceSettings,
  type DownlinkKind,
  defaultDeviceSettings,
  type Fix,
  type PositionMessage,
  type StatusMessage,
  type UplinkKind,
} from "@vakt/schemas";
import {
  type BatteryParams,
  type BatteryState,
  initialBattery,
  isDead,
  reportedPct,
  stepBattery,
} from "./battery";
import { type MalformedKind, malform } from "./malformed";
import {
  initialMovement,
  type MovementParams,
  type MovementState,
  observe,
  stepMovement,
  walkTo,
  wanderTarget,
} from "./movement";
import type { SimDevice, SimOptions } from "./options";
import { resolvedBattery, resolvedMovement } from "./options";
import { chance, gaussian, happensWithin, pick, type Random, token, uniform } from "./random";

export interface Uplink {
  kind: UplinkKind;
  payload: string;
  /** The message id, when the payload is a valid message. */
  id?: string;
  alarmType?: DeviceAlarmType;
  malformed?: MalformedKind;
  /** A second publication of an already published message (same id). */
  redelivery?: boolean;
}

export type Note =
  | { type: "ack"; ackOf: string; status: AckMessage["status"]; first: boolean; latencyMs: number }
  | { type: "ack_unknown"; ackOf: string }
  | { type: "config_applied"; version: number }
  | { type: "command"; command: CommandMessage["command"]; id: string }
  | { type: "duplicate_command"; id: string }
  | { type: "invalid_downlink"; kind: DownlinkKind; reason: string }
  | { type: "silent"; untilMs: number }
  | { type: "power_off" }
  | { type: "power_on" };

export interface Output {
  uplinks: Uplink[];
  notes: Note[];
}

/** Scripted events (see scenario.ts), already resolved to milliseconds. */
export type DeviceEvent =
  | { event: "sos" }
  | { event: "fall"; cancelAfterMs?: number }
  | { event: "walk_to"; lat: number; lon: number; stayForMs?: number }
  | { event: "wander"; distanceM?: number }
  | { event: "go_home" }
  | { event: "silence"; forMs: number }
  | { event: "battery"; pct: number; charging?: boolean }
  | { event: "malformed"; kind: MalformedKind }
  | { event: "redeliver" }
  | { event: "skew"; ms: number }
  | { event: "position" }
  | { event: "status" };

const fallRate: Record<DeviceSettings["fallDetection"], number> = { off: 0, low: 0.5, medium: 1, high: 1.5 };
const MAX_BATCH = 100;
const SEEN_COMMANDS = 64;

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
  private readonly sentAlarms = new Map<string, { sentAtMs: number; acked: boolean }>();
  private readonly seenCommands: string[] = [];
  private held: Uplink[] = [];
  private heldFixes: Fix[] = [];
  private heldDownlinks: { kind: DownlinkKind; payload: string }[] = [];
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
    return [...this.sentAlarms].filter(([, a]) => !a.acked).map(([id]) => id);
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
        this.heldFixes.push(this.fix(nowMs));
        this.heldFixes = this.heldFixes.slice(-MAX_BATCH);
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
    const held = this.held;
    const fixes = this.heldFixes;
    const downlinks = this.heldDownlinks;
    this.held = [];
    this.heldFixes = [];
    this.heldDownlinks = [];
    for (const u of held) this.emit(out, nowMs, u);
    if (fixes.length > 0) {
      const message: PositionMessage = { v: 1, id: this.nextId(), fixes };
      this.emit(out, nowMs, { kind: "position", payload: JSON.stringify(message), id: message.id });
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
      if (uplink.kind === "alarm") this.held.push(uplink);
      return;
    }
    out.uplinks.push(uplink);
    this.lastUplink = uplink;
    if (uplink.alarmType && uplink.id && !this.sentAlarms.has(uplink.id)) {
      this.sentAlarms.set(uplink.id, { sentAtMs: nowMs, acked: false });
    }
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
        this.movement = walkTo(
          this.movement,
          { lat: event.lat, lon: event.lon },
          event.stayForMs === undefined ? undefined : event.stayForMs / 1000,
        );
        break;
      case "wander": {
        const r = event.distanceM ?? this.options.geofenceRadiusM;
        this.movement = walkTo(
          this.movement,
          wanderTarget(
            this.movement.home,
            r,
            this.random,
            event.distanceM ? 1 : 1.5,
            event.distanceM ? 1 : 2.5,
          ),
        );
        break;
      }
      case "go_home":
        this.movement = walkTo(this.movement, this.movement.home);
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
      this.heldDownlinks.push({ kind, payload });
      return out;
    }
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      out.notes.push({ type: "invalid_downlink", kind, reason: "invalid JSON" });
      return out;
    }
    const schema = { config: configMessage, ack: ackMessage, command: commandMessage }[kind];
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      out.notes.push({
        type: "invalid_downlink",
        kind,
        reason: parsed.error.issues[0]?.message ?? "invalid",
      });
      return out;
    }
    if (kind === "config") this.applyConfig(out, parsed.data as ConfigMessage, nowMs);
    else if (kind === "ack") this.applyAck(out, parsed.data as AckMessage, nowMs);
    else this.applyCommand(out, parsed.data as CommandMessage, nowMs);
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

  private applyAck(out: Output, ack: AckMessage, nowMs: number) {
    const alarm = this.sentAlarms.get(ack.ackOf);
    if (!alarm) {
      out.notes.push({ type: "ack_unknown", ackOf: ack.ackOf });
      return;
    }
    const first = !alarm.acked;
    alarm.acked = true;
    out.notes.push({
      type: "ack",
      ackOf: ack.ackOf,
      status: ack.status,
      first,
      latencyMs: nowMs - alarm.sentAtMs,
    });
  }

  private applyCommand(out: Output, command: CommandMessage, nowMs: number) {
    if (this.seenCommands.includes(command.id)) {
      out.notes.push({ type: "duplicate_command", id: command.id });
      return;
    }
    this.seenCommands.push(command.id);
    if (this.seenCommands.length > SEEN_COMMANDS) this.seenCommands.shift();
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
    const o = observe(this.movement, this.random);
    const fix: Fix = { t: this.deviceTime(nowMs), lat: o.lat, lon: o.lon, accM: o.accM, source: o.source };
    if (o.speedMps !== undefined) fix.speedMps = o.speedMps;
    if (o.headingDeg !== undefined) fix.headingDeg = o.headingDeg;
    fix.batteryPct = reportedPct(this.battery);
    return fix;
  }

  private positionUplink(nowMs: number): Uplink {
    const message: PositionMessage = { v: 1, id: this.nextId(), fix: this.fix(nowMs) };
    return { kind: "position", payload: JSON.stringify(message), id: message.id };
  }

  private statusUplink(nowMs: number): Uplink {
    const message: StatusMessage = {
      v: 1,
      id: this.nextId(),
      t: this.deviceTime(nowMs),
      batteryPct: reportedPct(this.battery),
      charging: this.battery.charging,
      signalDbm: Math.max(-120, Math.min(-50, Math.round(-85 + gaussian(this.random) * 8))),
      firmware: this.options.firmware,
    };
    if (this.configVersion !== undefined) {
      message.reportedConfig = { version: this.configVersion, settings: this.settings };
    }
    return { kind: "status", payload: JSON.stringify(message), id: message.id };
  }

  private alarmUplink(nowMs: number, type: DeviceAlarmType, cancels?: string): Uplink {
    const message: AlarmMessage = {
      v: 1,
      id: this.nextId(),
      t: this.deviceTime(nowMs),
      type,
      fix: this.fix(nowMs),
      batteryPct: reportedPct(this.battery),
    };
    if (cancels) message.cancels = cancels;
    return { kind: "alarm", payload: JSON.stringify(message), id: message.id, alarmType: type };
  }
}

/** The next time on a fixed schedule (ticks arriving a little late do not drift it), never in the past. */
function nextDue(dueMs: number, intervalMs: number, nowMs: number): number {
  const next = dueMs + intervalMs;
  return next > nowMs ? next : nowMs + intervalMs;
}

function emptyOutput(): Output {
  return { uplinks: [], notes: [] };
}

function merge(into: Output, from: Output) {
  into.uplinks.push(...from.uplinks);
  into.notes.push(...from.notes);
}
