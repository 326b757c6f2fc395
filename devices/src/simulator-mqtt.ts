/**
 * The simulator's MQTT side, one mqtt.js client per device: connecting (gradually), the device's own
 * `down/#` subscription, publishing its uplinks at QoS 1, and disconnecting.
 */
import { type DownlinkKind, parseDeviceTopic, TOPIC_ROOT, uplinkTopic } from "@vakt/schemas";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import type { Output, SimulatedDevice, Uplink } from "./device";
import type { SimDevice, SimOptions } from "./options";
import { integer, type Random } from "./random";
import type { SimulatorEvent } from "./simulator";
import { type Counters, countUplink } from "./simulator-stats";

export interface Runtime {
  device: SimulatedDevice;
  spec: SimDevice;
  logger: Logger;
  client?: MqttClient;
  connected: boolean;
  booted: boolean;
}

/** What a device's connection needs from the simulator. */
export interface Wiring {
  mqttUrl: string;
  options: SimOptions;
  random: Random;
  counters: Counters;
  emit: (event: SimulatorEvent) => void;
  now: () => number;
  handle: (r: Runtime, out: Output) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function clientOptions(spec: SimDevice, options: SimOptions, random: Random): IClientOptions {
  const opts: IClientOptions = {
    clientId: spec.serial,
    username: spec.serial,
    password: spec.secret,
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
  return opts;
}

/** Connects one device; resolves once it has connected and subscribed, or failed. */
export function connectDevice(r: Runtime, w: Wiring): Promise<void> {
  const { counters, emit } = w;
  const client = mqtt.connect(w.mqttUrl, clientOptions(r.spec, w.options, w.random));
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
        w.handle(r, r.device.boot(w.now()));
      }
      if (!subscribed) {
        subscribed = true;
        subscribe(r, client, counters, settle);
      }
    });
    client.on("message", (topic, payload) => receive(r, w, topic, payload));
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

function subscribe(r: Runtime, client: MqttClient, counters: Counters, settle: () => void) {
  client.subscribe(`${TOPIC_ROOT}/${r.spec.serial}/down/#`, { qos: 1 }, (error, granted) => {
    const refused = granted?.some((g) => g.qos === 128);
    if (error || refused) {
      counters.connectionErrors++;
      r.logger.warn({ err: error?.message }, "subscription refused");
    }
    settle();
  });
}

function receive(r: Runtime, w: Wiring, topic: string, payload: Buffer) {
  const parsed = parseDeviceTopic(topic);
  if (!parsed.ok || parsed.direction !== "down" || parsed.serial !== r.spec.serial) {
    w.counters.downlink.invalid++;
    r.logger.warn({ topic }, "message on an unexpected topic");
    return;
  }
  const kind: DownlinkKind = parsed.kind;
  w.counters.downlink[kind]++;
  w.handle(r, r.device.handleDownlink(kind, payload.toString("utf8"), w.now()));
}

/** Connects every device, `connectRatePerS` at most, until all are started or the run is stopped. */
export async function connectGradually(
  runtimes: Iterable<Runtime>,
  count: number,
  w: Wiring,
  stopped: () => boolean,
): Promise<void> {
  const slotMs = 50;
  const perSlot = Math.max(1, Math.round((w.options.connectRatePerS * slotMs) / 1000));
  const pending: Promise<void>[] = [];
  let i = 0;
  for (const r of runtimes) {
    if (stopped()) break;
    pending.push(connectDevice(r, w));
    if (++i % perSlot === 0 && i < count) await sleep(slotMs);
  }
  await Promise.all(pending);
}

/** Publishes an uplink at QoS 1 and counts it (and, later, the broker's confirmation or refusal). */
export function publishUplink(r: Runtime, uplink: Uplink, counters: Counters, emit: Wiring["emit"]) {
  const client = r.client;
  if (!client) return;
  const alarm = countUplink(counters, uplink);
  if (alarm) r.logger.info({ id: uplink.id, type: alarm }, "alarm raised");
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

/** Waits for in-flight QoS 1 publications, but not forever when the broker is gone. */
export async function disconnect(client: MqttClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => void client.endAsync(true).then(resolve, resolve), 5000);
  });
  await Promise.race([client.endAsync(false), timeout]);
  clearTimeout(timer);
}
