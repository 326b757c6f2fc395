/**
 * Runs simulated devices against an MQTT broker: one mqtt.js client per device
 * (username = serial, password = secret), connected gradually, QoS 1 for every
 * uplink, subscribed to its own `down/#` (simulator-mqtt.ts). Time comes from the
 * injected clock: each tick advances every connected device; scripted timeline
 * events are applied when due (simulator-timeline.ts). What happens is counted
 * (simulator-stats.ts).
 */
import type { Logger } from "pino";
import { type Clock, systemClock } from "./clock";
import { type Note, type Output, SimulatedDevice, type Uplink } from "./device";
import { type SimDevice, type SimOptions, type SimOptionsInput, simOptions } from "./options";
import { forkRandom, type Random, seededRandom } from "./random";
import type { TimelineEvent } from "./scenario";
import { connectGradually, disconnect, publishUplink, type Runtime, type Wiring } from "./simulator-mqtt";
import { countNote, newCounters, type SimulatorStats, statsOf } from "./simulator-stats";
import { Timeline } from "./simulator-timeline";

export type { SimulatorStats } from "./simulator-stats";

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

export interface Simulator {
  /** Connects every device (gradually) and resolves once each has connected and subscribed, or failed. */
  start(): Promise<void>;
  /** Stops ticking, lets in-flight publications finish, disconnects everyone. */
  stop(): Promise<SimulatorStats>;
  stats(): SimulatorStats;
  /** Resolves when the timeline is done and `durationMs` has passed (never, without either). */
  finished(): Promise<void>;
}

function runtimesOf(devices: SimDevice[], options: SimOptions, random: Random, clock: Clock, logger: Logger) {
  const runtimes = new Map<string, Runtime>();
  for (const spec of devices) {
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
  return runtimes;
}

/** One tick: every booted device moves on to `now`, then the timeline's due events (once it has started). */
function advance(
  runtimes: Map<string, Runtime>,
  now: number,
  handle: (r: Runtime, out: Output) => void,
  started: { timeline: Timeline; startMs: number } | undefined,
) {
  for (const r of runtimes.values()) if (r.booted) handle(r, r.device.tick(now));
  if (!started) return;
  for (const e of started.timeline.takeDue(started.startMs, now)) {
    const r = runtimes.get(e.device);
    if (r) {
      r.logger.info({ event: e.event.event }, "scenario event");
      handle(r, r.device.apply(e.event, now));
    }
  }
  started.timeline.endIfDone(started.startMs, now);
}

export function createSimulator(args: SimulatorArgs): Simulator {
  const options = simOptions.parse(args.options ?? {});
  const clock = args.clock ?? systemClock;
  const random = args.random ?? seededRandom(Date.now() >>> 0);
  const logger = args.logger;
  const timeline = new Timeline(args.timeline ?? [], args.durationMs);
  const emit = args.onEvent ?? (() => {});
  const runtimes = runtimesOf(args.devices, options, random, clock, logger);
  for (const serial of timeline.devices()) {
    if (!runtimes.has(serial)) throw new Error(`timeline names unknown device ${serial}`);
  }
  const counters = newCounters();

  let startedAtMs: number | undefined;
  let timelineStartMs: number | undefined;
  let cancelTick: (() => void) | undefined;
  let stopped = false;

  function handle(r: Runtime, out: Output) {
    for (const u of out.uplinks) publishUplink(r, u, counters, emit);
    for (const n of out.notes) {
      countNote(counters, r.logger, n);
      emit({ type: "note", serial: r.spec.serial, note: n });
    }
  }

  function tick() {
    if (stopped) return;
    advance(
      runtimes,
      clock.now(),
      handle,
      timelineStartMs === undefined ? undefined : { timeline, startMs: timelineStartMs },
    );
  }

  const wiring: Wiring = {
    mqttUrl: args.mqttUrl,
    options,
    random,
    counters,
    emit,
    now: () => clock.now(),
    handle,
  };
  const stats = () =>
    statsOf(counters, runtimes.size, startedAtMs === undefined ? 0 : clock.now() - startedAtMs);

  return {
    async start() {
      if (startedAtMs !== undefined) throw new Error("simulator already started");
      startedAtMs = clock.now();
      cancelTick = clock.every(options.tickMs, tick);
      await connectGradually(runtimes.values(), runtimes.size, wiring, () => stopped);
      timelineStartMs = clock.now();
      logger.info({ devices: runtimes.size, connected: stats().connected }, "simulator started");
      tick();
    },

    async stop() {
      stopped = true;
      cancelTick?.();
      await Promise.all([...runtimes.values()].map((r) => (r.client ? disconnect(r.client) : undefined)));
      const final = stats();
      logger.info({ sent: final.sent.total, alarms: final.alarms }, "simulator stopped");
      return final;
    },

    stats,

    finished: () => timeline.finished,
  };
}
