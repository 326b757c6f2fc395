import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import {
  alarmMessage,
  defaultDeviceSettings,
  downlinkTopic,
  parseDeviceTopic,
  positionMessage,
  statusMessage,
  TOPIC_ROOT,
  type UplinkKind,
} from "@vakt/schemas";
import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "./clock";
import { generateDevices } from "./generate";
import { quietOptions } from "./options";
import { seededRandom } from "./random";
import { runScenario } from "./run-scenario";
import { loadScenario } from "./scenario";
import { createSimulator, type SimulatorEvent } from "./simulator";

const logger = pino({ level: "silent" });
const schemas = { position: positionMessage, status: statusMessage, alarm: alarmMessage };

interface Received {
  serial: string;
  kind: UplinkKind;
  qos: number;
  text: string;
  json: unknown;
}

/** The platform's side: a subscriber to every uplink, with a way to wait for a message. */
class Platform {
  readonly messages: Received[] = [];
  private waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void; from: number }[] = [];
  constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const t = parseDeviceTopic(topic);
      if (!t.ok || t.direction !== "up") throw new Error(`unexpected topic ${topic}`);
      const text = payload.toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const m = { serial: t.serial, kind: t.kind, qos: packet.qos, text, json };
      this.messages.push(m);
      const index = this.messages.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index < w.from || !w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }
  /** The first message from index `from` on that matches. */
  next(pred: (m: Received) => boolean, from = 0): Promise<Received> {
    const found = this.messages.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ pred, resolve, from }));
  }
  async count(n: number, pred: (m: Received) => boolean): Promise<Received[]> {
    for (;;) {
      const matching = this.messages.filter(pred);
      if (matching.length >= n) return matching;
      await this.next(pred, this.messages.length);
    }
  }
}

let server: Server;
let broker: Aedes;
let url: string;
let platform: Platform;
let passwords: Map<string, string> | undefined;

beforeEach(async () => {
  passwords = undefined;
  broker = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      if (!passwords || username === "platform") return done(null, true);
      const ok = username !== undefined && passwords.get(username) === password?.toString();
      done(null, ok);
    },
  });
  server = createServer(broker.handle);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  url = `mqtt://127.0.0.1:${address.port}`;
  const client = await mqtt.connectAsync(url, { clientId: "platform", username: "platform" });
  await client.subscribeAsync(`${TOPIC_ROOT}/+/up/+`, { qos: 1 });
  platform = new Platform(client);
});

afterEach(async () => {
  await platform.client.endAsync();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function valid(m: Received): boolean {
  return m.json !== undefined && schemas[m.kind].safeParse(m.json).success;
}

describe("simulator against a real broker", () => {
  it("runs five devices: valid QoS 1 uplinks, SOS, malformed, redelivery, config echo, locate, ack", async () => {
    const devices = generateDevices(5, [{ lat: 59.9139, lon: 10.7522 }], 42);
    const [d0, d1, d2] = devices.map((d) => d.serial);
    if (!d0 || !d1 || !d2) throw new Error("five devices expected");
    const clock = new ManualClock();
    const events: SimulatorEvent[] = [];
    let ackNoted: () => void = () => {};
    const acked = new Promise<void>((resolve) => {
      ackNoted = resolve;
    });
    const sim = createSimulator({
      mqttUrl: url,
      devices,
      options: { ...quietOptions, heartbeatIntervalS: 10, connectRatePerS: 1000 },
      logger,
      clock,
      random: seededRandom(1),
      timeline: [
        { atMs: 5_000, device: d0, event: { event: "sos" } },
        { atMs: 6_000, device: d1, event: { event: "malformed", kind: "lat_out_of_range" } },
        { atMs: 7_000, device: d0, event: { event: "redeliver" } },
      ],
      onEvent: (e) => {
        events.push(e);
        if (e.type === "note" && e.note.type === "ack") ackNoted();
      },
    });
    try {
      await sim.start();
      expect(sim.stats().connected).toBe(5);
      // Boot: a status and a position from each.
      await platform.count(5, (m) => m.kind === "status");

      clock.advance(30_000);
      for (const d of devices) await platform.count(3, (m) => m.serial === d.serial && m.kind === "status");
      const sos = await platform.next((m) => m.kind === "alarm" && valid(m));
      expect(sos.serial).toBe(d0);
      expect(alarmMessage.parse(sos.json).type).toBe("sos");

      const malformed = await platform.next((m) => m.serial === d1 && !valid(m));
      expect(malformed.kind).toBe("position");
      expect(positionMessage.safeParse(malformed.json).success).toBe(false);

      const copies = await platform.count(2, (m) => m.kind === "alarm");
      expect(copies[1]?.text).toBe(copies[0]?.text);
      expect(alarmMessage.parse(copies[1]?.json).id).toBe(alarmMessage.parse(sos.json).id);

      // Everything else is valid, and everything went at QoS 1.
      expect(platform.messages.filter((m) => !valid(m))).toEqual([malformed]);
      expect(platform.messages.every((m) => m.qos === 1)).toBe(true);

      // Configuration: retained, applied, echoed in the next status.
      const settings = { ...defaultDeviceSettings, heartbeatIntervalS: 600 };
      await platform.client.publishAsync(
        downlinkTopic(d0, "config"),
        JSON.stringify({ v: 1, version: 3, settings }),
        { qos: 1, retain: true },
      );
      const echoed = await platform.next(
        (m) => m.serial === d0 && m.kind === "status" && valid(m) && "reportedConfig" in (m.json as object),
      );
      expect(statusMessage.parse(echoed.json).reportedConfig).toEqual({ version: 3, settings });

      // Locate: a position now.
      const before = platform.messages.length;
      await platform.client.publishAsync(
        downlinkTopic(d2, "command"),
        JSON.stringify({ v: 1, id: "cmd-1", command: "locate" }),
        { qos: 1 },
      );
      const located = await platform.next((m) => m.serial === d2 && m.kind === "position", before);
      expect(positionMessage.parse(located.json)).toHaveProperty("fix");

      // Acknowledgement of the SOS: counted end to end.
      await platform.client.publishAsync(
        downlinkTopic(d0, "ack"),
        JSON.stringify({
          v: 1,
          ackOf: alarmMessage.parse(sos.json).id,
          status: "received",
          alarmId: "5f0c6f0e-3b8a-4c1e-9f59-0d7c2b1a9e44",
          at: clock.now(),
        }),
        { qos: 1 },
      );
      await acked;
      expect(sim.stats()).toMatchObject({
        alarms: { sent: 1, acked: 1, byType: { sos: 1 } },
        configsApplied: 1,
        commands: { locate: 1 },
        sent: { redelivered: 1, malformed: 1 },
      });
    } finally {
      await sim.stop();
    }
    expect(sim.stats().connected).toBe(0);
    expect(sim.stats().confirmed).toBe(sim.stats().sent.total);
    expect(events.some((e) => e.type === "disconnected")).toBe(true);
  });

  it("connects with serial and secret; a wrong secret is refused and counted, start still completes", async () => {
    const devices = generateDevices(3, undefined, 5);
    passwords = new Map(devices.map((d) => [d.serial, d.secret]));
    const wrong = devices.map((d, i) => (i === 2 ? { ...d, secret: "wrong" } : d));
    const sim = createSimulator({
      mqttUrl: url,
      devices: wrong,
      options: { ...quietOptions, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 },
      logger,
      clock: new ManualClock(),
      random: seededRandom(2),
    });
    try {
      await sim.start();
      expect(sim.stats().connected).toBe(2);
      expect(sim.stats().errors.connection).toBeGreaterThanOrEqual(1);
      const statuses = await platform.count(2, (m) => m.kind === "status");
      expect(new Set(statuses.map((m) => m.serial))).toEqual(
        new Set([devices[0]?.serial, devices[1]?.serial]),
      );
    } finally {
      await sim.stop();
    }
  });

  it("plays the sos-and-fall scenario file", async () => {
    const scenario = await loadScenario(join(import.meta.dirname, "..", "scenarios", "sos-and-fall.json"));
    const clock = new ManualClock();
    let done = false;
    const run = runScenario({ scenario, mqttUrl: url, logger, clock, random: seededRandom(3) }).finally(
      () => {
        done = true;
      },
    );
    while (!done) {
      clock.advance(1000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = await run;
    expect(stats.alarms.byType).toEqual({ sos: 2, fall: 2, fall_cancel: 1 });
    expect(stats).toMatchObject({ silences: 1, sent: { malformed: 2, redelivered: 1 } });

    const alarms = await platform.count(6, (m) => m.kind === "alarm");
    const fromSn3 = alarms.filter((m) => m.serial === "SN-3").map((m) => alarmMessage.parse(m.json));
    expect(fromSn3.map((a) => a.type)).toEqual(["fall", "fall"]);
    expect(fromSn3[1]?.cancels).toBe(fromSn3[0]?.id);
    const broken = await platform.count(2, (m) => m.serial === "SN-4" && !valid(m));
    // A scripted malformation breaks a position: latitude 200, then battery 300.
    expect(broken.map((m) => (m.json as { fix: unknown }).fix)).toMatchObject([
      { lat: 200 },
      { batteryPct: 300 },
    ]);
  });
});
