/**
 * Runs simulated devices against an MQTT broker: one mqtt.js client per device
 * (username = serial, password = secret), connected gradually, QoS 1 for every
 * uplink, subscribed to its own `down/#`. Time comes from the injected clock:
 * each tick advances every connected device; scripted timeline events are
 * applied when due.
 */
import {
  type DeviceAlarmType,
  type DownlinkKind,
  parseDeviceTopic,
  TOPIC_ROOT,
  uplinkTopic,
} from "@vakt/schemas";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { type Clock, systemClock } from "./clock";
import { type Note, type Output, SimulatedDevice, type Uplink } from "./device";
import { type SimDevice, type SimOptionsInput, simOptions } from "./options";
import { forkRandom, integer, type Random, seededRandom } from "./random";
import type { TimelineEvent } from "./scenario";

export type SimulatorEvent =
  | { type: "uplink"; serial: string; uplink: Uplink }
  | { type: "note"; serial: string; note: Note }
  | { type: "connected"; serial: string }
  | { type: "disconnected"; serial: string };

export interface SimulatorArgs {
  mqttUrl: string;
  devices: SimDevice[];
  options?: SimOptionsInput;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Scripted events, offsets from the moment `start()` has connected everyone. */
  timeline?: TimelineEvent[];
  /** `finished()` resolves once this much clock time has passed after start (and the timeline is done). */
  durationMs?: number;
  /** Everything that happens, for callers that want to watch (tests, demos). */
  onEvent?: (event: SimulatorEvent) => void;
}

export interface SimulatorStats {
  devices: number;
  connected: number;
  /** Most devices connected at once during the run. */
  connectedPeak: number;
  /** Clock time since start. */
  elapsedMs: number;
  sent: {
    total: number;
    position: number;
    status: number;
    alarm: number;
    redelivered: number;
    malformed: number;
  };
  /** Publications the broker confirmed (PUBACK). */
  confirmed: number;
  alarms: { sent: number; acked: number; byType: Partial<Record<DeviceAlarmType | "fall_cancel", number>> };
  acks: {
    received: number;
    unknown: number;
    latencyP50Ms: number | undefined;
    latencyMaxMs: number | undefined;
  };
  downlink: { config: number; ack: number; command: number; invalid: number; duplicateCommands: number };
  configsApplied: number;
  commands: { locate: number; track: number; stop_tracking: number };
  silences: number;
  powerOffs: number;
  errors: { connection: number; publish: number; total: number };
  reconnects: number;
}

export interface Simulator {
  /** Connects every device (gradually) and resolves once each has connected and subscribed, or failed. */
  start(): Promise<void>;
  /** Stops ticking, lets in-flight publications finish, disconnects everyone. */
  stop(): Promise<SimulatorStats>;
  stats(): SimulatorStats;
  /** Resolves when the timeline is done and `durationMs` has passed (never, without either). */
  finished(): Promise<void>;
}

interface Runtime {
  device: SimulatedDevice;
  spec: SimDevice;
  logger: Logger;
  client?: MqttClient;
  connected: boolean;
  booted: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export function createSimulator(args: SimulatorArgs): Simulator {
  const options = simOptions.parse(args.options ?? {});
  const clock = args.clock ?? systemClock;
  const random = args.random ?? seededRandom(Date.now() >>> 0);
  const logger = args.logger;
  const timeline = [...(args.timeline ?? [])].sort((a, b) => a.atMs - b.atMs);
  const emit = args.onEvent ?? (() => {});

  const runtimes = new Map<string, Runtime>();
  for (const spec of args.devices) {
    if (runtimes.has(spec.serial)) throw new Error(`duplicate device serial ${spec.serial}`);
    const device = new SimulatedDevice(spec, options, forkRandom(random), clock.now());
    runtimes.set(spec.serial, {
      device,
      spec,
      logger: logger.child({ serial: spec.serial }),
      connected: false,
      booted: false,
    });
  }
  for (const e of timeline) {
    if (!runtimes.has(e.device)) throw new Error(`timeline names unknown device ${e.device}`);
  }

  const counters = {
    sent: { total: 0, position: 0, status: 0, alarm: 0, redelivered: 0, malformed: 0 },
    confirmed: 0,
    alarmsSent: 0,
    alarmsAcked: 0,
    byType: {} as Partial<Record<DeviceAlarmType | "fall_cancel", number>>,
    acks: 0,
    unknownAcks: 0,
    latencies: [] as number[],
    downlink: { config: 0, ack: 0, command: 0, invalid: 0, duplicateCommands: 0 },
    configsApplied: 0,
    commands: { locate: 0, track: 0, stop_tracking: 0 },
    silences: 0,
    powerOffs: 0,
    connectionErrors: 0,
    publishErrors: 0,
    reconnects: 0,
    connectedNow: 0,
    connectedPeak: 0,
  };

  let startedAtMs: number | undefined;
  let timelineStartMs: number | undefined;
  let timelineIndex = 0;
  let cancelTick: (() => void) | undefined;
  let stopped = false;
  let resolveFinished: () => void = () => {};
  const finishedPromise = new Promise<void>((resolve) => {
    resolveFinished = resolve;
  });
  const endMs = Math.max(args.durationMs ?? 0, timeline.at(-1)?.atMs ?? 0);
  const hasEnd = args.durationMs !== undefined || timeline.length > 0;

  function publish(r: Runtime, uplink: Uplink) {
    const client = r.client;
    if (!client) return;
    counters.sent.total++;
    counters.sent[uplink.kind]++;
    if (uplink.redelivery) counters.sent.redelivered++;
    if (uplink.malformed) counters.sent.malformed++;
    if (uplink.alarmType && !uplink.redelivery && !uplink.malformed) {
      const parsed = JSON.parse(uplink.payload) as { cancels?: string };
      const key = parsed.cancels ? "fall_cancel" : uplink.alarmType;
      counters.byType[key] = (counters.byType[key] ?? 0) + 1;
      counters.alarmsSent++;
      r.logger.info({ id: uplink.id, type: key }, "alarm raised");
    }
    emit({ type: "uplink", serial: r.spec.serial, uplink });
    client.publish(uplinkTopic(r.spec.serial, uplink.kind), uplink.payload, { qos: 1 }, (error) => {
      if (error) {
        counters.publishErrors++;
        r.logger.warn({ err: error.message, kind: uplink.kind }, "publish failed");
      } else {
        counters.confirmed++;
      }
    });
  }

  function note(r: Runtime, n: Note) {
    switch (n.type) {
      case "ack":
        counters.acks++;
        if (n.first) {
          counters.alarmsAcked++;
          counters.latencies.push(n.latencyMs);
        }
        r.logger.info({ ackOf: n.ackOf, status: n.status, latencyMs: n.latencyMs }, "alarm acknowledged");
        break;
      case "ack_unknown":
        counters.unknownAcks++;
        r.logger.warn({ ackOf: n.ackOf }, "ack of an alarm this device did not send");
        break;
      case "config_applied":
        counters.configsApplied++;
        r.logger.info({ version: n.version }, "configuration applied");
        break;
      case "command":
        counters.commands[n.command]++;
        r.logger.info({ command: n.command, id: n.id }, "command");
        break;
      case "duplicate_command":
        counters.downlink.duplicateCommands++;
        r.logger.debug({ id: n.id }, "duplicate command ignored");
        break;
      case "invalid_downlink":
        counters.downlink.invalid++;
        r.logger.warn({ kind: n.kind, reason: n.reason }, "invalid downlink message");
        break;
      case "silent":
        counters.silences++;
        r.logger.debug({ untilMs: n.untilMs }, "going silent");
        break;
      case "power_off":
        counters.powerOffs++;
        r.logger.info("battery flat: powered off");
        break;
      case "power_on":
        r.logger.info("charging: powered on");
        break;
    }
    emit({ type: "note", serial: r.spec.serial, note: n });
  }

  function handle(r: Runtime, out: Output) {
    for (const u of out.uplinks) publish(r, u);
    for (const n of out.notes) note(r, n);
  }

  function tick() {
    if (stopped) return;
    const now = clock.now();
    for (const r of runtimes.values()) if (r.booted) handle(r, r.device.tick(now));
    if (timelineStartMs === undefined) return;
    while (timelineIndex < timeline.length) {
      const e = timeline[timelineIndex];
      if (!e || timelineStartMs + e.atMs > now) break;
      timelineIndex++;
      const r = runtimes.get(e.device);
      if (r) {
        r.logger.info({ event: e.event.event }, "scenario event");
        handle(r, r.device.apply(e.event, now));
      }
    }
    if (hasEnd && timelineIndex >= timeline.length && now >= timelineStartMs + endMs) resolveFinished();
  }

  function connect(r: Runtime): Promise<void> {
    const opts: IClientOptions = {
      clientId: r.spec.serial,
      username: r.spec.serial,
      password: r.spec.secret,
      clean: options.cleanSession,
      keepalive: options.keepaliveS,
      protocolVersion: options.protocolVersion,
      reconnectPeriod: integer(
        random,
        options.reconnectMinMs,
        Math.max(options.reconnectMinMs, options.reconnectMaxMs),
      ),
      connectTimeout: 30_000,
      resubscribe: true,
    };
    if (options.protocolVersion === 5 && !options.cleanSession) {
      opts.properties = { sessionExpiryInterval: 24 * 3600 };
    }
    const client = mqtt.connect(args.mqttUrl, opts);
    r.client = client;
    return new Promise<void>((settle) => {
      let subscribed = false;
      client.on("connect", () => {
        if (!r.connected) counters.connectedNow++;
        counters.connectedPeak = Math.max(counters.connectedPeak, counters.connectedNow);
        r.connected = true;
        emit({ type: "connected", serial: r.spec.serial });
        if (!r.booted) {
          r.booted = true;
          handle(r, r.device.boot(clock.now()));
        }
        if (!subscribed) {
          subscribed = true;
          client.subscribe(`${TOPIC_ROOT}/${r.spec.serial}/down/#`, { qos: 1 }, (error, granted) => {
            const refused = granted?.some((g) => g.qos === 128);
            if (error || refused) {
              counters.connectionErrors++;
              r.logger.warn({ err: error?.message }, "subscription refused");
            }
            settle();
          });
        }
      });
      client.on("message", (topic, payload) => {
        const parsed = parseDeviceTopic(topic);
        if (!parsed.ok || parsed.direction !== "down" || parsed.serial !== r.spec.serial) {
          counters.downlink.invalid++;
          r.logger.warn({ topic }, "message on an unexpected topic");
          return;
        }
        const kind: DownlinkKind = parsed.kind;
        counters.downlink[kind]++;
        handle(r, r.device.handleDownlink(kind, payload.toString("utf8"), clock.now()));
      });
      client.on("error", (error) => {
        counters.connectionErrors++;
        r.logger.warn({ err: error.message }, "connection error");
        settle();
      });
      client.on("reconnect", () => {
        counters.reconnects++;
      });
      client.on("close", () => {
        if (r.connected) {
          counters.connectedNow--;
          emit({ type: "disconnected", serial: r.spec.serial });
        }
        r.connected = false;
        // A first attempt that never got through still counts as started.
        if (!r.booted) settle();
      });
    });
  }

  function stats(): SimulatorStats {
    const sorted = [...counters.latencies].sort((a, b) => a - b);
    return {
      devices: runtimes.size,
      connected: counters.connectedNow,
      connectedPeak: counters.connectedPeak,
      elapsedMs: startedAtMs === undefined ? 0 : clock.now() - startedAtMs,
      sent: { ...counters.sent },
      confirmed: counters.confirmed,
      alarms: { sent: counters.alarmsSent, acked: counters.alarmsAcked, byType: { ...counters.byType } },
      acks: {
        received: counters.acks,
        unknown: counters.unknownAcks,
        latencyP50Ms: percentile(sorted, 0.5),
        latencyMaxMs: sorted.at(-1),
      },
      downlink: { ...counters.downlink },
      configsApplied: counters.configsApplied,
      commands: { ...counters.commands },
      silences: counters.silences,
      powerOffs: counters.powerOffs,
      errors: {
        connection: counters.connectionErrors,
        publish: counters.publishErrors,
        total: counters.connectionErrors + counters.publishErrors + counters.downlink.invalid,
      },
      reconnects: counters.reconnects,
    };
  }

  return {
    async start() {
      if (startedAtMs !== undefined) throw new Error("simulator already started");
      startedAtMs = clock.now();
      cancelTick = clock.every(options.tickMs, tick);
      const slotMs = 50;
      const perSlot = Math.max(1, Math.round((options.connectRatePerS * slotMs) / 1000));
      const pending: Promise<void>[] = [];
      let i = 0;
      for (const r of runtimes.values()) {
        if (stopped) break;
        pending.push(connect(r));
        if (++i % perSlot === 0 && i < runtimes.size) await sleep(slotMs);
      }
      await Promise.all(pending);
      timelineStartMs = clock.now();
      logger.info({ devices: runtimes.size, connected: stats().connected }, "simulator started");
      tick();
    },

    async stop() {
      stopped = true;
      cancelTick?.();
      await Promise.all(
        [...runtimes.values()].map(async (r) => {
          const client = r.client;
          if (!client) return;
          // Wait for in-flight QoS 1 publications, but not forever when the broker is gone.
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((resolve) => {
            timer = setTimeout(() => void client.endAsync(true).then(resolve, resolve), 5000);
          });
          await Promise.race([client.endAsync(false), timeout]);
          clearTimeout(timer);
        }),
      );
      const final = stats();
      logger.info({ sent: final.sent.total, alarms: final.alarms }, "simulator stopped");
      return final;
    },

    stats,

    finished: () => finishedPromise,
  };
}
