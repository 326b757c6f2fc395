/**
 * A last will raises no_contact after a short grace, not at the next
 * heartbeat timeout: a real client (mosquitto_pub, as an OwnTracks app with
 * the app's last will, or as a Vakt device with the contract's will, a status
 * with `online: false`) is SIGKILLed, the broker publishes its will, ingest
 * marks the device offline, and the supervisor raises no_contact once the
 * grace is over. The device coming back clears it. A device without any last
 * will is marked offline by the broker's report of the drop (its connection
 * log, broker/presence.ts), which no device can forge. On Mosquitto (MQTT 5
 * and 3.1.1) and on the embedded broker.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "@vakt/storage";
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
import { Supervisor } from "./supervisor";

const GRACE_MS = 5_000;
let h: Harness;
let embedded: EmbeddedBroker;
const ingests: Ingest[] = [];
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
  const onMosquitto = createIngest({
    ...ingestConnection(h),
    config: { INGEST_CLIENT_ID: "vakt-ingest-lw" },
    http: false,
    supervise: false,
  });
  const onAedes = createIngest({
    pool: h.db.pool,
    databaseUrl: h.db.url,
    mqttUrl: embedded.url,
    mqttUsername: service.username,
    mqttPassword: service.password,
    logger: testLogger,
    config: { INGEST_CLIENT_ID: "vakt-ingest-lw-aedes" },
    protocolVersion: 4,
    sharedSubscription: false,
    http: false,
    supervise: false,
  });
  ingests.push(onMosquitto, onAedes);
  await Promise.all(ingests.map((i) => i.start()));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(ingests.map((i) => i.stop()));
  await embedded?.close();
  await h?.close();
});

const nowS = () => Math.floor(Date.now() / 1000);

interface Protocol {
  name: string;
  protocol: "owntracks" | "mqtt";
  topic: (dev: TestDevice) => string;
  /** What the device says while alive. */
  alive: () => string;
  /** Its last will, set at connect; none, and the broker's report of the drop is what tells. */
  will?: () => string;
}

let seq = 0;
const protocols: Protocol[] = [
  {
    name: "OwnTracks",
    protocol: "owntracks",
    topic: (dev) => `owntracks/anna/${dev.serial}`,
    alive: () =>
      JSON.stringify({
        _type: "location",
        tst: nowS() - 5 + seq++,
        lat: 59.9139,
        lon: 10.7522,
        acc: 12,
        tid: "an",
      }),
    will: () => JSON.stringify({ _type: "lwt", tst: nowS() }),
  },
  {
    name: "Vakt contract",
    protocol: "mqtt",
    topic: (dev) => `vakt/v1/d/${dev.serial}/up/status`,
    alive: () => JSON.stringify({ v: 1, id: `hb-${seq++}`, t: Date.now() - 1_000, batteryPct: 70 }),
    will: () => JSON.stringify({ v: 1, id: `will-${seq++}`, t: Date.now(), online: false }),
  },
  {
    name: "Vakt contract without a last will",
    protocol: "mqtt",
    topic: (dev) => `vakt/v1/d/${dev.serial}/up/status`,
    alive: () => JSON.stringify({ v: 1, id: `hb-${seq++}`, t: Date.now() - 1_000, batteryPct: 70 }),
  },
];

/**
 * A live OwnTracks-like client: mosquitto_pub reading lines from stdin, holding the connection, with the
 * app's last will. Spawned again while the broker has not yet reloaded its password file.
 */
async function liveClient(
  port: number,
  dev: TestDevice,
  version: string,
  p: Protocol,
): Promise<ChildProcess> {
  const topic = p.topic(dev);
  for (;;) {
    // stdbuf: mosquitto_pub's debug lines unbuffered, so CONNACK is seen when it comes.
    const child = spawn(
      "stdbuf",
      [
        ...["-oL", "mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-V", version, "-q", "1", "-d"],
        ...["-u", dev.serial, "-P", dev.secret, "-i", dev.serial, "-t", topic, "-l"],
        ...(p.will ? ["--will-topic", topic, "--will-qos", "1", "--will-payload", p.will()] : []),
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    children.push(child);
    let out = "";
    const keep = (b: Buffer) => {
      out += b.toString();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const state = await eventually(() => {
      if (/received CONNACK \(0\)/.test(out)) return "up";
      if (child.exitCode !== null || /CONNACK \([1-9]/.test(out)) return "refused";
      return undefined;
    }, `CONNACK (${out})`);
    if (state === "up") return child;
    child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function publishOnce(port: number, dev: TestDevice, version: string, p: Protocol): Promise<void> {
  const payload = p.alive();
  const child = spawn("mosquitto_pub", [
    ...["-h", "127.0.0.1", "-p", String(port), "-V", version, "-q", "1"],
    ...["-u", dev.serial, "-P", dev.secret, "-i", dev.serial, "-t", p.topic(dev)],
    ...["-m", payload],
  ]);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(code).toBe(0);
}

async function deviceRow(id: string) {
  const r = await h.db.pool.query<{ online: boolean; offline_since: Date | null }>(
    "SELECT online, offline_since FROM devices WHERE id = $1",
    [id],
  );
  return r.rows[0];
}

async function noContactAlarms(id: string) {
  const r = await h.db.pool.query<{ state: string; details: Record<string, unknown> }>(
    "SELECT state, details FROM alarms WHERE device_id = $1 AND type = 'no_contact' ORDER BY raised_at",
    [id],
  );
  return r.rows;
}

const brokers = [
  { name: "Mosquitto, MQTT 5", port: () => h.broker.devicePort, version: "mqttv5" },
  { name: "Mosquitto, MQTT 3.1.1", port: () => h.broker.devicePort, version: "mqttv311" },
  { name: "embedded broker, MQTT 3.1.1", port: () => embedded.port, version: "mqttv311" },
];
const cases = brokers.flatMap((b) => protocols.map((p) => ({ ...b, p, label: `${p.name} on ${b.name}` })));

describe.each(cases)("last will: $label", ({ port, version, p }) => {
  it("raises no_contact a grace after the client dies, and clears it when the device is back", async () => {
    const org = await makeOrganisation(h.db.pool);
    // The heartbeat interval is an hour: no_contact from it would come an hour and some minutes later.
    const dev = await makeDevice(h.db.pool, org, {
      mosquittoHash: true,
      protocol: p.protocol,
      recipient: true,
      desiredConfig: { heartbeatIntervalS: 3_600 },
    });
    await h.syncBrokerAccounts();
    const child = await liveClient(port(), dev, version, p);
    child.stdin?.write(`${p.alive()}\n`);
    await eventually(async () => ((await deviceRow(dev.id))?.online ? true : undefined), "online");

    child.kill("SIGKILL");
    const gone = await eventually(
      async () => {
        const d = await deviceRow(dev.id);
        return d && !d.online && d.offline_since ? d.offline_since.getTime() : undefined;
      },
      p.will ? "offline after the broker published the will" : "offline after the broker reported the drop",
    );

    let clock = gone + GRACE_MS - 1;
    const supervisor = new Supervisor({
      pool: h.db.pool,
      logger: testLogger,
      now: () => clock,
      conditions: { lastWillGraceMs: GRACE_MS },
    });
    await supervisor.runOnce();
    expect(await noContactAlarms(dev.id)).toEqual([]);

    clock = gone + GRACE_MS;
    await supervisor.runOnce();
    const raised = await noContactAlarms(dev.id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      state: "open",
      details: { reason: "went_away", graceS: GRACE_MS / 1000 },
    });
    await supervisor.runOnce();
    expect(await noContactAlarms(dev.id)).toHaveLength(1);

    await publishOnce(port(), dev, version, p);
    await eventually(async () => ((await deviceRow(dev.id))?.online ? true : undefined), "online again");
    expect((await deviceRow(dev.id))?.offline_since).toBeNull();
    clock = Date.now();
    await supervisor.runOnce();
    expect((await noContactAlarms(dev.id)).map((a) => a.state)).toEqual(["resolved"]);
  });
});

describe("a retained last will", () => {
  it("marks the device offline when published, but not when a new subscription is handed it later", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { mosquittoHash: true, protocol: "owntracks" });
    await h.syncBrokerAccounts();
    const ot = protocols[0] as Protocol;
    const sim = await h.connectSim({ protocolVersion: 4 });
    const topic = ot.topic(dev);
    await sim.publishAsync(topic, ot.alive(), { qos: 1 });
    await eventually(async () => ((await deviceRow(dev.id))?.online ? true : undefined), "online");
    // The app's retain setting on: the broker keeps its will.
    await sim.publishAsync(topic, ot.will?.() ?? "", { qos: 1, retain: true });
    await eventually(async () => ((await deviceRow(dev.id))?.online === false ? true : undefined), "offline");
    await sim.publishAsync(topic, ot.alive(), { qos: 1 });
    await eventually(async () => ((await deviceRow(dev.id))?.online ? true : undefined), "back online");

    // A new ingest session subscribes and is handed the stored will: old news.
    const late = createIngest({
      ...ingestConnection(h),
      config: { INGEST_CLIENT_ID: `vakt-ingest-late-${dev.serial}` },
      http: false,
      supervise: false,
    });
    ingests.push(late);
    await late.start();
    await eventually(async () => {
      const v = (await late.metrics.owntracksIgnored.get()).values.find(
        (x) => x.labels.subtopic === "lwt (retained)",
      );
      return (v?.value ?? 0) > 0 ? true : undefined;
    }, "the retained will counted and ignored");
    expect((await deviceRow(dev.id))?.online).toBe(true);
    // Clearing the retained will (an empty retained message) reaches ingest too: counted, no dead letter.
    await sim.publishAsync(topic, "", { qos: 1, retain: true });
    const after = JSON.parse(ot.alive()) as { tst: number };
    await sim.publishAsync(topic, JSON.stringify(after), { qos: 1 });
    await eventually(
      async () =>
        (await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1 AND message_id = $2", [
          dev.id,
          `ot-location-${after.tst}`,
        ])) > 0 || undefined,
      "the location after it",
    );
    expect(await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE device_id = $1", [dev.id])).toBe(
      0,
    );
    // One ingest per broker again for the tests after this one: each instance applies the broker's
    // connection log on its own, and a slower one could apply a connect after the drop behind it.
    ingests.splice(ingests.indexOf(late), 1);
    await late.stop();
  });
});

describe.each(brokers)("the broker's connection log on $name", ({ port, version }) => {
  it("leaves a device that said DISCONNECT online: trackers that connect for each report do", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { mosquittoHash: true, protocol: "mqtt", recipient: true });
    await h.syncBrokerAccounts();
    const noWill = protocols[2] as Protocol;
    await publishOnce(port(), dev, version, noWill);
    await eventually(async () => ((await deviceRow(dev.id))?.online ? true : undefined), "online");
    // A drop of another device after it, on the same topic in the broker's order: once that is
    // applied, a report of this device's DISCONNECT would have been too.
    const marker = await makeDevice(h.db.pool, org, {
      mosquittoHash: true,
      protocol: "mqtt",
      recipient: true,
    });
    await h.syncBrokerAccounts();
    const markerClient = await liveClient(port(), marker, version, noWill);
    markerClient.stdin?.write(`${noWill.alive()}\n`);
    await eventually(async () => ((await deviceRow(marker.id))?.online ? true : undefined), "marker online");
    markerClient.kill("SIGKILL");
    await eventually(
      async () => ((await deviceRow(marker.id))?.online === false ? true : undefined),
      "marker offline",
    );
    expect(await deviceRow(dev.id)).toMatchObject({ online: true, offline_since: null });
  });

  it("cannot be spoken by a device: a forged drop of another device changes nothing", async () => {
    const org = await makeOrganisation(h.db.pool);
    const make = () => makeDevice(h.db.pool, org, { mosquittoHash: true, protocol: "mqtt", recipient: true });
    const [victim, forger, marker] = [await make(), await make(), await make()];
    await h.syncBrokerAccounts();
    const noWill = protocols[2] as Protocol;
    const victimClient = await liveClient(port(), victim, version, noWill);
    victimClient.stdin?.write(`${noWill.alive()}\n`);
    const markerClient = await liveClient(port(), marker, version, noWill);
    markerClient.stdin?.write(`${noWill.alive()}\n`);
    for (const d of [victim, marker])
      await eventually(async () => ((await deviceRow(d.id))?.online ? true : undefined), "online");

    // The forger says, as the broker would, that the victim closed its connection.
    const forged = spawn("mosquitto_pub", [
      ...["-h", "127.0.0.1", "-p", String(port()), "-V", version, "-q", "1"],
      ...["-u", forger.serial, "-P", forger.secret, "-i", forger.serial, "-t", "$SYS/broker/log/N"],
      ...["-m", `${nowS()}: Client ${victim.serial} closed its connection.`],
    ]);
    await new Promise((resolve) => forged.once("exit", resolve));
    // A real drop after it, reported on the same topic in the broker's order: once it is applied,
    // the forged line would have been too.
    markerClient.kill("SIGKILL");
    await eventually(
      async () => ((await deviceRow(marker.id))?.online === false ? true : undefined),
      "marker offline",
    );
    expect((await deviceRow(victim.id))?.online).toBe(true);
    victimClient.kill("SIGKILL");
  });
});
