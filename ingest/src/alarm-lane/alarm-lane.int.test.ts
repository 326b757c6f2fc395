/**
 * The alarm lane in a worker thread (alarmLane "worker", as main.ts runs it), end to end through a
 * real Mosquitto (shipped config) into PostgreSQL: an alarm is stored, acknowledged to the device and
 * PUBACKed from the worker while the main thread's event loop is blocked; a worker that is killed or
 * hangs shows in health and is replaced, and the alarms of the meantime are stored; stop() drains
 * what the worker accepted; the worker's metrics are served from the main registry.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ackMessage, downlinkTopic, uplinkTopic } from "@vakt/schemas";
import mqtt from "mqtt";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CreateIngestOptions, createIngest, type Ingest } from "../ingest";
import { makeDevice, makeOrganisation, type TestDevice, uniqueName } from "../testing/fixtures";
import { count, eventually, type Harness, ingestConnection, startHarness } from "../testing/harness";

const ingestDir = fileURLToPath(new URL("../..", import.meta.url));

let h: Harness;
let sim: mqtt.MqttClient;
const running: Ingest[] = [];

beforeAll(async () => {
  h = await startHarness();
  sim = await h.connectSim();
});

// A test that failed leaves its ingest running: it would take the next test's alarms.
afterEach(async () => {
  for (const i of running.splice(0)) await i.stop().catch(() => {});
});

afterAll(async () => {
  await h?.close();
});

async function startIngest(clientId: string, extra: Partial<CreateIngestOptions> = {}): Promise<Ingest> {
  const ingest = createIngest({
    ...ingestConnection(h),
    config: {
      INGEST_CLIENT_ID: clientId,
      INGEST_HTTP_PORT: 0,
      INGEST_HTTP_HOST: "127.0.0.1",
      INGEST_BATCH_MAX_WAIT_MS: 20,
    },
    http: true,
    metricsAddress: { port: 0, host: "127.0.0.1" },
    supervise: false,
    // Plain subscriptions, as main.ts by default: in a `$share` group the sessions earlier tests left
    // behind (persistent, offline) would be handed some of this test's alarms.
    sharedSubscription: false,
    alarmLane: "worker",
    alarmLaneTiming: { heartbeatMs: 200, silentAfterMs: 1_500, backoff: { minMs: 250, maxMs: 1_000 } },
    ...extra,
  });
  running.push(ingest);
  await ingest.start();
  return ingest;
}

async function stopIngest(ingest: Ingest): Promise<void> {
  running.splice(running.indexOf(ingest), 1);
  await ingest.stop();
}

const alarmOf = (id: string) => {
  const t = Date.now() - 1_000;
  return { v: 1, id, t, type: "sos", fix: { t, lat: 59.9, lon: 10.7 } };
};
const publishAlarm = (dev: TestDevice, body: unknown) =>
  sim.publishAsync(uplinkTopic(dev.serial, "alarm"), typeof body === "string" ? body : JSON.stringify(body), {
    qos: 1,
  });
const storedAlarm = (dev: TestDevice, id: string) =>
  count(h.db.pool, "SELECT count(*) n FROM alarms WHERE device_id = $1 AND device_message_id = $2", [
    dev.id,
    id,
  ]);
const eventuallyStored = (dev: TestDevice, id: string) =>
  eventually(async () => ((await storedAlarm(dev, id)) === 1 ? true : undefined), `alarm ${id} stored`);

async function newDevice(): Promise<TestDevice> {
  return makeDevice(h.db.pool, await makeOrganisation(h.db.pool), { recipient: true });
}

/** The device's downlink acks, as they arrive. */
async function watchAcks(dev: TestDevice): Promise<unknown[]> {
  const acks: unknown[] = [];
  const watcher = await h.connectSim();
  watcher.on("message", (_t, p) => acks.push(ackMessage.parse(JSON.parse(p.toString()))));
  await watcher.subscribeAsync(downlinkTopic(dev.serial, "ack"), { qos: 1 });
  return acks;
}

const healthOf = async (ingest: Ingest) => {
  const r = await fetch(`http://127.0.0.1:${ingest.httpPort}/healthz`);
  return { status: r.status, body: (await r.json()) as { down?: { part: string; state: string }[] } };
};
const scrape = async (ingest: Ingest) =>
  (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/**
 * With ingest stopped, takes its alarm session over (same client id, session kept) and publishes a
 * marker: a message the worker had not PUBACKed would come back first, before the marker.
 */
async function redeliveredBeforeMarker(clientId: string, dev: TestDevice): Promise<string[]> {
  const seen: string[] = [];
  const c = mqtt.connect(h.broker.url, {
    clientId: `${clientId}-alarms`,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3_600 },
    username: h.ingestAccount.username,
    password: h.ingestAccount.password,
    reconnectPeriod: 0,
  });
  // Attached before the connection: what the broker resends comes right behind its CONNACK.
  c.on("message", (_t, p) => seen.push((JSON.parse(p.toString()) as { id: string }).id));
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    c.once("connect", resolve);
    c.once("error", reject);
  });
  expect(connack.sessionPresent).toBe(true);
  const marker = uniqueName("marker");
  await publishAlarm(dev, alarmOf(marker));
  await eventually(() => (seen.includes(marker) ? true : undefined), "the marker");
  await c.endAsync();
  return seen.slice(0, seen.indexOf(marker));
}

describe("the alarm lane's worker thread", () => {
  it("stores, acknowledges and PUBACKs an alarm while the main thread's event loop is blocked", async () => {
    const clientId = uniqueName("lane-store");
    const ingest = await startIngest(clientId);
    const dev = await newDevice();
    const acks = await watchAcks(dev);
    const id = uniqueName("alarm");
    // A child process publishes the alarm and watches for its row while this thread does nothing at
    // all (spawnSync): only an alarm lane on a thread of its own can store it meanwhile.
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import mqtt from "mqtt"; import pg from "pg";
         const e = process.env;
         const c = await mqtt.connectAsync(e.MQTT_URL, { username: e.MQTT_USER, password: e.MQTT_PASS, reconnectPeriod: 0 });
         await c.publishAsync(e.TOPIC, e.PAYLOAD, { qos: 1 });
         await c.endAsync();
         const db = new pg.Client(e.DB);
         await db.connect();
         let out = "not stored in 30 s";
         for (const end = Date.now() + 30000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
           const r = await db.query("SELECT 1 FROM alarms WHERE device_id = $1 AND device_message_id = $2", [e.DEVICE, e.ID]);
           if (r.rowCount) { out = "stored"; break; }
         }
         await db.end();
         console.log(out);`,
      ],
      {
        cwd: ingestDir,
        encoding: "utf8",
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? "",
          MQTT_URL: h.broker.url,
          MQTT_USER: h.simAccount.username,
          MQTT_PASS: h.simAccount.password,
          TOPIC: uplinkTopic(dev.serial, "alarm"),
          PAYLOAD: JSON.stringify(alarmOf(id)),
          DB: h.db.url,
          DEVICE: dev.id,
          ID: id,
        },
      },
    );
    expect(child.stderr).toBe("");
    expect(child.stdout.trim()).toBe("stored");

    const stored = await h.db.pool.query<{ id: string }>(
      "SELECT id FROM alarms WHERE device_id = $1 AND device_message_id = $2",
      [dev.id, id],
    );
    await eventually(() => (acks.length > 0 ? true : undefined), "the device's ack");
    expect(acks).toEqual([
      expect.objectContaining({ ackOf: id, status: "received", alarmId: stored.rows[0]?.id }),
    ]);
    await stopIngest(ingest);
    expect(await redeliveredBeforeMarker(clientId, dev)).toEqual([]);
  });

  it("shows the lane down while its worker is gone, restarts it, and stores the alarms of the meantime and after", async () => {
    const ingest = await startIngest(uniqueName("lane-kill"));
    const dev = await newDevice();
    expect((await healthOf(ingest)).status).toBe(200);
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    await ingest.alarmLane?.terminateForTest(hold);
    const down = await eventually(async () => {
      const hl = await healthOf(ingest);
      return hl.status === 503 ? hl.body : undefined;
    }, "health 503");
    expect(down.down).toEqual([expect.objectContaining({ part: "alarm-lane", state: "exited" })]);
    const metrics = await scrape(ingest);
    expect(sample(metrics, "vakt_ingest_alarm_lane_up")).toBe(0);
    expect(sample(metrics, 'vakt_ingest_alarm_lane_restarts_total{reason="exited"}')).toBe(1);

    const meantime = uniqueName("meantime");
    await publishAlarm(dev, alarmOf(meantime));
    release();
    await eventuallyStored(dev, meantime);
    await eventually(async () => ((await healthOf(ingest)).status === 200 ? true : undefined), "health 200");
    const after = uniqueName("after");
    await publishAlarm(dev, alarmOf(after));
    await eventuallyStored(dev, after);
    await stopIngest(ingest);
  });

  it("ends a worker that stops answering, and the next one takes the alarms", async () => {
    const ingest = await startIngest(uniqueName("lane-hang"));
    const dev = await newDevice();
    ingest.alarmLane?.hangForTest();
    await eventually(() => (ingest.alarmLane?.current === "silent" ? true : undefined), "the lane silent");
    const id = uniqueName("after-hang");
    await publishAlarm(dev, alarmOf(id));
    await eventuallyStored(dev, id);
    expect(ingest.alarmLane?.current).toBe("up");
    expect(sample(await scrape(ingest), 'vakt_ingest_alarm_lane_restarts_total{reason="silent"}')).toBe(1);
    await stopIngest(ingest);
  });

  it("commits, acknowledges and PUBACKs at stop() an alarm its worker had accepted", async () => {
    const clientId = uniqueName("lane-drain");
    const ingest = await startIngest(clientId);
    const dev = await newDevice();
    const acks = await watchAcks(dev);
    // The alarm's commit waits for this lock: the worker holds the alarm, accepted and not committed.
    const locker = new pg.Client({ connectionString: h.db.url });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE alarms IN SHARE MODE");
    const id = uniqueName("drained");
    await publishAlarm(dev, alarmOf(id));
    await eventually(
      async () =>
        (await count(
          h.db.pool,
          `SELECT count(*) n FROM pg_stat_activity
            WHERE application_name = 'vakt-ingest-alarm-lane' AND wait_event_type = 'Lock'`,
        )) > 0
          ? true
          : undefined,
      "the alarm's commit waiting for the lock",
    );
    running.splice(running.indexOf(ingest), 1);
    const stopped = ingest.stop();
    await eventually(
      () => (ingest.alarmLane?.current === "draining" ? true : undefined),
      "the lane draining",
    );
    await locker.query("ROLLBACK");
    await locker.end();
    await stopped;
    expect(await storedAlarm(dev, id)).toBe(1);
    await eventually(() => (acks.length > 0 ? true : undefined), "the device's ack");
    expect(acks).toEqual([expect.objectContaining({ ackOf: id, status: "received" })]);
    expect(await redeliveredBeforeMarker(clientId, dev)).toEqual([]);
  });

  it("serves the worker's metrics from the main registry, counting on across a restart", async () => {
    const ingest = await startIngest(uniqueName("lane-metrics"));
    const dev = await newDevice();
    await publishAlarm(dev, alarmOf(uniqueName("m1")));
    await publishAlarm(dev, "not json");
    const first = await eventually(async () => {
      const text = await scrape(ingest);
      return sample(text, "vakt_ingest_device_alarms_total") === 1 &&
        sample(text, 'vakt_ingest_dead_letters_total{reason="invalid_json"}') === 1 &&
        sample(text, 'vakt_ingest_lane_wait_seconds{lane="alarm-lane:alarms"}') === 0
        ? text
        : undefined;
    }, "the worker's counts");
    expect(sample(first, 'vakt_ingest_messages_total{transport="mqtt",kind="alarm"}')).toBe(2);
    expect(sample(first, "vakt_ingest_commit_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(sample(first, "vakt_ingest_alarm_lane_up")).toBe(1);

    await ingest.alarmLane?.terminateForTest();
    await eventually(() => (ingest.alarmLane?.current === "up" ? true : undefined), "the lane up again");
    await publishAlarm(dev, alarmOf(uniqueName("m2")));
    // The new worker counts from 0; this registry goes on from what the first one reported.
    await eventually(
      async () => (sample(await scrape(ingest), "vakt_ingest_device_alarms_total") === 2 ? true : undefined),
      "two alarms counted",
    );
    await stopIngest(ingest);
  });
});
