/**
 * Every topic an OwnTracks app publishes under its own prefix, through both
 * brokers, with real clients (mosquitto_pub/mosquitto_sub, MQTT 5 and 3.1.1):
 * location and transition (on `/event`) are mapped, the other subtopics are
 * counted and ignored, none drops the connection or leaves a dead letter; the
 * app may subscribe to its own `/cmd` and to nothing of another device's.
 * Payloads as the OwnTracks booklet documents them (JSON format).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "@vakt/storage";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../broker/embedded";
import { createIngest, type Ingest } from "../ingest";
import { makeDevice, makeOrganisation, type TestDevice } from "../testing/fixtures";
import {
  count,
  eventually,
  type Harness,
  ingestConnection,
  startHarness,
  testLogger,
} from "../testing/harness";

let h: Harness;
let embedded: EmbeddedBroker;
let onMosquitto: Ingest;
let onAedes: Ingest;
const children: ChildProcess[] = [];
const service = { username: "vakt-svc", password: "service-password-123" };

beforeAll(async () => {
  h = await startHarness();
  embedded = await startEmbeddedBroker({
    pool: h.db.pool,
    port: await freePort(),
    host: "127.0.0.1",
    logger: testLogger,
    serviceCredentials: [service],
  });
  onMosquitto = createIngest({
    ...ingestConnection(h),
    config: { INGEST_CLIENT_ID: "vakt-ingest-ot" },
    http: false,
    supervise: false,
  });
  onAedes = createIngest({
    pool: h.db.pool,
    databaseUrl: h.db.url,
    mqttUrl: embedded.url,
    mqttUsername: service.username,
    mqttPassword: service.password,
    logger: testLogger,
    config: { INGEST_CLIENT_ID: "vakt-ingest-ot-aedes" },
    protocolVersion: 4,
    sharedSubscription: false,
    http: false,
    supervise: false,
  });
  await onMosquitto.start();
  await onAedes.start();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await onMosquitto?.stop();
  await onAedes?.stop();
  await embedded?.close();
  await h?.close();
});

const nowS = () => Math.floor(Date.now() / 1000);

/** The booklet's examples, one per subtopic Vakt ignores. */
function ignoredPayloads(tst: number): Record<string, object> {
  return {
    step: {
      _type: "steps",
      tst,
      steps: 1234,
      distance: 900,
      floorsup: 1,
      floorsdown: 0,
      from: tst - 3600,
      to: tst,
    },
    beacon: {
      _type: "beacon",
      uuid: "CA271EAE-5FA8-4E80-8F08-2A302A95A959",
      major: 1,
      minor: 1,
      tst,
      acc: 1,
      rssi: -60,
      prox: 1,
    },
    dump: { _type: "configuration", mode: 0, monitoring: 1, locatorInterval: 180 },
    waypoint: { _type: "waypoint", desc: "Home", lat: 59.91, lon: 10.75, rad: 100, tst },
    waypoints: {
      _type: "waypoints",
      waypoints: [{ _type: "waypoint", desc: "Home", lat: 59.91, lon: 10.75, rad: 100, tst }],
    },
    info: { _type: "card", name: "Anna", tid: "an" },
    status: { _type: "status", android: { hib: 0, bo: 1, loc: 0, ps: 0, wifi: 1 } },
    cmd: { _type: "cmd", action: "reportLocation" },
  };
}

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(args[0] as string, args.slice(1));
  children.push(child);
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out })));
}

const cases = [
  {
    name: "Mosquitto, MQTT 5",
    port: () => h.broker.devicePort,
    version: "mqttv5",
    ingest: () => onMosquitto,
  },
  {
    name: "Mosquitto, MQTT 3.1.1",
    port: () => h.broker.devicePort,
    version: "mqttv311",
    ingest: () => onMosquitto,
  },
  {
    name: "embedded broker, MQTT 3.1.1",
    port: () => embedded.port,
    version: "mqttv311",
    ingest: () => onAedes,
  },
];

describe.each(cases)("OwnTracks topics on $name", ({ port, version, ingest }) => {
  let dev: TestDevice;
  let other: TestDevice;
  const base = () => `owntracks/anna/${dev.serial}`;
  const auth = (d: TestDevice) => ["-u", d.serial, "-P", d.secret, "-i", d.serial];
  const pub = (topic: string, payload: object | string, d: TestDevice = dev) =>
    run([
      "mosquitto_pub",
      ...["-h", "127.0.0.1", "-p", String(port()), "-V", version, "-q", "1"],
      ...auth(d),
      ...["-t", topic, "-m", typeof payload === "string" ? payload : JSON.stringify(payload)],
    ]);

  beforeAll(async () => {
    const org = await makeOrganisation(h.db.pool);
    dev = await makeDevice(h.db.pool, org, { mosquittoHash: true, protocol: "owntracks", recipient: true });
    other = await makeDevice(h.db.pool, org, { mosquittoHash: true, protocol: "owntracks" });
    await h.syncBrokerAccounts();
    // The broker reloads its password file on SIGHUP, a moment later.
    await eventually(
      async () => ((await pub(`${base()}/info`, { _type: "card", name: "x" })).code === 0 ? true : undefined),
      "login",
    );
  });

  it("stores a location whose -1 values are unknown, not values", async () => {
    const tst = nowS() - 30;
    // The iOS app's report without a fix of speed, course, altitude or accuracy.
    const r = await pub(base(), {
      _type: "location",
      tst,
      lat: 59.9139,
      lon: 10.7522,
      acc: -1,
      alt: -1,
      vel: -1,
      cog: -1,
      batt: 55,
      bs: 1,
      t: "u",
      tid: "an",
    });
    expect(r).toMatchObject({ code: 0 });
    const row = await eventually(async () => {
      const q = await h.db.pool.query(
        "SELECT accuracy_m, altitude_m, speed_mps, heading_deg, battery_percent FROM positions WHERE device_id = $1 AND message_id = $2",
        [dev.id, `ot-location-${tst}`],
      );
      return q.rows[0];
    }, "the position");
    expect(row).toEqual({
      accuracy_m: null,
      altitude_m: null,
      speed_mps: null,
      heading_deg: null,
      battery_percent: 55,
    });
  });

  it("maps a transition on /event to a position and keeps it in the raw log", async () => {
    const tst = nowS() - 20;
    const transition = {
      _type: "transition",
      wtst: tst - 1000,
      lat: 59.92,
      lon: 10.76,
      tst,
      acc: 10,
      tid: "an",
      event: "enter",
      desc: "Home",
      t: "c",
    };
    expect(await pub(`${base()}/event`, transition)).toMatchObject({ code: 0 });
    await eventually(
      async () =>
        (await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1 AND message_id = $2", [
          dev.id,
          `ot-transition-${tst}`,
        ])) === 1
          ? true
          : undefined,
      "the transition's position",
    );
    const raw = await h.db.pool.query(
      "SELECT kind, topic, payload_text::jsonb->>'event' AS event FROM device_messages WHERE device_id = $1 AND message_id = $2",
      [dev.id, `ot-transition-${tst}`],
    );
    expect(raw.rows).toEqual([{ kind: "owntracks_transition", topic: `${base()}/event`, event: "enter" }]);
  });

  it("stores a transition on either topic as one geofence enter or leave, even when sent twice", async () => {
    const tst = nowS() - 60;
    // The booklet's transition (JSON format), once on the documented /event and once on the base topic.
    const enter = {
      _type: "transition",
      wtst: tst - 5000,
      lat: 59.921,
      lon: 10.761,
      tst,
      acc: 12,
      tid: "an",
      event: "enter",
      desc: "Hjemme",
      rid: "a1b2c3",
      t: "c",
    };
    const leave = {
      _type: "transition",
      lat: 59.93,
      lon: 10.77,
      tst: tst + 1,
      acc: -1,
      event: "leave",
      t: "l",
    };
    for (let i = 0; i < 2; i++) {
      expect(await pub(`${base()}/event`, enter)).toMatchObject({ code: 0 });
      expect(await pub(base(), leave)).toMatchObject({ code: 0 });
    }
    const rows = async () =>
      (
        await h.db.pool.query(
          `SELECT message_id, event, region_desc, region_id, region_time, trigger, time, lat, lon, accuracy_m,
                  recipient_id = $2 AS own_recipient, department_id IS NOT NULL AS has_department
           FROM device_transitions WHERE device_id = $1 AND message_id = ANY($3) ORDER BY time`,
          [dev.id, dev.recipientId, [`ot-transition-${tst}`, `ot-transition-${tst + 1}`]],
        )
      ).rows;
    await eventually(async () => ((await rows()).length === 2 ? true : undefined), "both transitions");
    // The second copies had reached ingest before the last position: the raw log has each once.
    await eventually(
      async () =>
        (await count(
          h.db.pool,
          "SELECT count(*) n FROM device_messages WHERE device_id = $1 AND message_id = ANY($2)",
          [dev.id, [`ot-transition-${tst}`, `ot-transition-${tst + 1}`]],
        )) === 2
          ? true
          : undefined,
      "the raw log",
    );
    expect(await rows()).toEqual([
      {
        message_id: `ot-transition-${tst}`,
        event: "enter",
        region_desc: "Hjemme",
        region_id: "a1b2c3",
        region_time: new Date((tst - 5000) * 1000),
        trigger: "c",
        time: new Date(tst * 1000),
        lat: 59.921,
        lon: 10.761,
        accuracy_m: 12,
        own_recipient: true,
        has_department: true,
      },
      {
        message_id: `ot-transition-${tst + 1}`,
        event: "leave",
        region_desc: null,
        region_id: null,
        region_time: null,
        trigger: "l",
        time: new Date((tst + 1) * 1000),
        lat: 59.93,
        lon: 10.77,
        accuracy_m: null,
        own_recipient: true,
        has_department: true,
      },
    ]);
    expect(await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE device_id = $1", [dev.id])).toBe(
      0,
    );
  });

  it("takes every other subtopic on one connection, counts it and stores nothing", async () => {
    // Numbers copied out: prom-client hands out its own objects, which go on counting.
    const ignored = async () =>
      new Map(
        (await ingest().metrics.owntracksIgnored.get()).values.map((x) => [x.labels.subtopic, x.value]),
      );
    const before = await ignored();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port()}`, {
      username: dev.serial,
      password: dev.secret,
      clientId: dev.serial,
      protocolVersion: version === "mqttv5" ? 5 : 4,
      reconnectPeriod: 0,
    });
    let closed = false;
    client.on("close", () => {
      closed = true;
    });
    // The app's default subscriptions to other users' topics: refused (MQTT 5 and aedes answer a failure
    // code; Mosquitto over 3.1.1 grants them and delivers nothing of others), and the connection stays up.
    for (const f of ["owntracks/+/+", "owntracks/+/+/event", "owntracks/+/+/info"]) {
      await client.subscribeAsync(f, { qos: 1 }).catch(() => undefined);
    }
    const own = await client.subscribeAsync(`${base()}/cmd`, { qos: 1 });
    expect(own.map((g) => g.qos)).toEqual([1]);
    const payloads = ignoredPayloads(nowS());
    for (const [sub, payload] of Object.entries(payloads)) {
      const ack = await client.publishAsync(`${base()}/${sub}`, JSON.stringify(payload), { qos: 1 });
      // MQTT 5: a refused publication is a PUBACK with a reason code of 128 or more.
      const reason = (ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
      expect(reason, sub).toBeLessThan(128);
    }
    // A location after them on the same connection still arrives: nothing dropped it.
    const tst = nowS() - 10;
    await client.publishAsync(base(), JSON.stringify({ _type: "location", tst, lat: 59.9, lon: 10.7 }), {
      qos: 1,
    });
    await eventually(
      async () =>
        (await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1 AND message_id = $2", [
          dev.id,
          `ot-location-${tst}`,
        ])) === 1
          ? true
          : undefined,
      "the location after the ignored ones",
    );
    expect(closed).toBe(false);
    await client.endAsync();
    const after = await ignored();
    for (const sub of Object.keys(payloads))
      expect((after.get(sub) ?? 0) - (before.get(sub) ?? 0), sub).toBeGreaterThanOrEqual(1);
    expect(await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE device_id = $1", [dev.id])).toBe(
      0,
    );
  });

  it("lets the app subscribe to its own /cmd and to nothing of another device's", async () => {
    const sub = (d: TestDevice, topic: string) => {
      const child = spawn("stdbuf", [
        ...["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", String(port()), "-V", version, "-q", "1"],
        ...auth(d),
        ...["-t", topic, "-v"],
      ]);
      children.push(child);
      const got: string[] = [];
      child.stdout?.on("data", (b: Buffer) => got.push(...b.toString().split("\n").filter(Boolean)));
      return { child, got };
    };
    const own = sub(dev, `${base()}/cmd`);
    // The other device asks for this device's commands, by name and by wildcard.
    const spy = sub(other, `${base()}/cmd`);
    const spyWild = sub(other, `owntracks/+/${dev.serial}/cmd`);
    const cmd = JSON.stringify({ _type: "cmd", action: "reportLocation" });
    const svc = await mqtt.connectAsync(port() === embedded.port ? embedded.url : h.broker.url, {
      ...(port() === embedded.port ? service : h.simAccount),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    // Published until the device's subscription is in place (mosquitto_sub gives no sign of it).
    await eventually(async () => {
      await svc.publishAsync(`${base()}/cmd`, cmd, { qos: 1 });
      return own.got.length > 0 ? true : undefined;
    }, "the command at the app");
    expect(own.got[0]).toBe(`${base()}/cmd ${cmd}`);
    // The control: the same published again reaches the app, never the other device.
    const n = own.got.length;
    await svc.publishAsync(`${base()}/cmd`, cmd, { qos: 1 });
    await eventually(() => (own.got.length > n ? true : undefined), "the second command");
    expect(spy.got).toEqual([]);
    expect(spyWild.got).toEqual([]);
    await svc.endAsync();
  });

  it("refuses a publication under another device's prefix", async () => {
    const r = await pub(`owntracks/anna/${other.serial}`, { _type: "location", tst: nowS(), lat: 1, lon: 1 });
    expect(await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [other.id])).toBe(
      0,
    );
    // MQTT 5 says so (PUBACK "not authorised"); 3.1.1 has no way to, and the message goes nowhere.
    if (version === "mqttv5" && port() !== embedded.port) expect(r.out).toMatch(/not authori[sz]ed/i);
  });
});

describe("OwnTracks topic serials", () => {
  it("dead-letters a topic whose device segment is not a serial without looking it up", async () => {
    const svc = await h.connectSim({ protocolVersion: 4 });
    const payload = JSON.stringify({ _type: "location", tst: nowS(), lat: 1, lon: 1 });
    const marker = `bad.serial:${Date.now()}`;
    await svc.publishAsync(`owntracks/anna/${marker}`, payload, { qos: 1 });
    const row = await eventually(async () => {
      const r = await h.db.pool.query("SELECT reason, detail FROM dead_letters WHERE topic = $1", [
        `owntracks/anna/${marker}`,
      ]);
      return r.rows[0];
    }, "the dead letter");
    expect(row).toEqual({
      reason: "unknown_topic",
      detail: "the device segment of the topic is not a valid serial",
    });
    await svc.endAsync();
  });
});
