/**
 * Fault: the broker stopped and started again (Mosquitto from the shipped
 * configuration, persistence on) in the middle of numbered position streams
 * from many devices and a stream of alarms. Afterwards, for every message the
 * broker acknowledged to a device (PUBACK), nothing is lost and nothing is
 * stored twice. How late alarms were committed across the restart is printed
 * (a report, not an assertion: the bound is the reconnect timing).
 *
 * Finding (Mosquitto 2.0.11, the machine's): a *shared* subscription
 * (`$share/<group>/...`, ingest's default) receives almost nothing published
 * after the restart, although the member reconnects with its session present
 * and subscribes again; a plain persistent subscription on the same broker
 * receives everything. Ingest here therefore subscribes without a share
 * group (`sharedSubscription: false`), and the test prints, as a reference,
 * how many messages a one-member shared subscription received in the same
 * run. Mosquitto 2.0.21 (the newest 2.0, built from source; MOSQUITTO_BIN
 * selects the binary) behaves the same: with ingest on a shared subscription
 * it lost 1,892 of 3,600 acknowledged positions across the restart. Until that
 * is fixed (a later Mosquitto, or re-subscribing differently),
 * a Mosquitto deployment should run one ingest process with a plain
 * subscription, or EMQX (docker-compose.scale.yml).
 *
 * The other faults (ingest killed with SIGKILL, stopped with SIGTERM, the
 * database stopped) are in fault.int.test.ts.
 */
import { EVENTS_CHANNEL, uplinkTopic } from "@vakt/schemas";
import { percentile } from "@vakt/schemas/stats";
import mqtt, { type MqttClient } from "mqtt";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngest, type Ingest } from "./ingest";
import { makeDevice, makeOrganisation, type TestDevice } from "./testing/fixtures";
import { count, eventually, type Harness, ingestConnection, startHarness } from "./testing/harness";

const DEVICES = 24;
const PER_DEVICE = 150;
const CONNECTIONS = 4;

let h: Harness;
let ingest: Ingest;
const clients: MqttClient[] = [];

beforeAll(async () => {
  h = await startHarness();
  ingest = createIngest({
    ...ingestConnection(h),
    config: {
      INGEST_CLIENT_ID: "restart-ingest",
      INGEST_SHARE_GROUP: "restart",
      INGEST_BATCH_MAX_WAIT_MS: 20,
    },
    http: false,
    supervise: false,
    // A plain persistent subscription: see the shared-subscription finding in the header.
    sharedSubscription: false,
    // Alarms in their own thread, as main.ts runs them: its session rides out the restart too.
    alarmLane: "worker",
  });
  await ingest.start();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  await ingest?.stop();
  await h?.close();
});

/** A device-like publisher: persistent session, reconnects, keeps unacknowledged QoS 1 publishes and resends them. */
async function publisher(clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(h.broker.url, {
    username: h.simAccount.username,
    password: h.simAccount.password,
    protocolVersion: 4,
    clientId,
    clean: false,
    reconnectPeriod: 200,
  });
  c.on("error", () => {});
  clients.push(c);
  return c;
}

/**
 * Waits until `probe` reaches `target`, or stops moving (nothing new for 8 s, so whatever is missing
 * is reported by the assertions that follow rather than as a time-out), within 60 s.
 */
async function settle(probe: () => Promise<number>, target: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = await probe();
    if (n >= target || Date.now() > deadline || Date.now() - lastChange > 8_000) return n;
    if (n !== last) {
      last = n;
      lastChange = Date.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("broker restarted under load", () => {
  it("loses and duplicates nothing the broker acknowledged, positions and alarms alike", async () => {
    const org = await makeOrganisation(h.db.pool);
    const devices: TestDevice[] = [];
    for (let i = 0; i < DEVICES; i++) devices.push(await makeDevice(h.db.pool, org));
    const alarmDevice = await makeDevice(h.db.pool, org);
    const pubs = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) => publisher(`restart-pub-${i}`)),
    );
    const alarmPub = await publisher("restart-alarm-pub");
    // Reference: a one-member shared subscription (persistent session) on the same topics.
    const sharedSeen = new Set<string>();
    const sharedSub = await publisher("restart-shared-reference");
    sharedSub.on("message", (topic, payload) =>
      sharedSeen.add(`${topic}/${payload.toString().slice(0, 40)}`),
    );
    await sharedSub.subscribeAsync("$share/reference/vakt/v1/d/+/up/position", { qos: 1 });

    const listener = new pg.Client({ connectionString: h.db.url });
    await listener.connect();
    const committedAt = new Map<string, number>();
    listener.on("notification", (n) => {
      const e = JSON.parse(n.payload ?? "{}") as { kind?: string; alarmId?: string };
      if (e.kind === "alarm.raised" && e.alarmId) committedAt.set(e.alarmId, Date.now());
    });
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);

    const base = Date.now() - 3_600_000;
    const acked = new Set<string>();
    const settled: Promise<unknown>[] = [];
    let publishing = true;

    // Alarms every 100 ms for as long as positions flow.
    const alarmSentAt = new Map<string, number>();
    const alarmsAcked = new Set<string>();
    const alarmLoop = (async () => {
      for (let i = 0; publishing; i++) {
        const id = `al${i}`;
        alarmSentAt.set(id, Date.now());
        settled.push(
          alarmPub
            .publishAsync(
              uplinkTopic(alarmDevice.serial, "alarm"),
              JSON.stringify({ v: 1, id, t: Date.now() - 500, type: "sos" }),
              { qos: 1 },
            )
            .then(() => alarmsAcked.add(id)),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // Numbered positions: message n of each device carries fix time base + n seconds.
    const stream = (async () => {
      for (let n = 0; n < PER_DEVICE; n++) {
        devices.forEach((d, i) => {
          const c = pubs[i % CONNECTIONS] as MqttClient;
          const body = { v: 1, id: `n${n}`, fix: { t: base + n * 1_000, lat: 59.9, lon: 10.7 } };
          settled.push(
            c
              .publishAsync(uplinkTopic(d.serial, "position"), JSON.stringify(body), { qos: 1 })
              .then(() => acked.add(`${d.id}/n${n}`)),
          );
        });
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // Restart the broker once part of the stream is stored.
    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM positions WHERE organisation_id = $1", [
        org.orgId,
      ]);
      return n > DEVICES * 20 ? n : undefined;
    }, "part of the stream stored");

    await h.broker.restart({ downMs: 1_500 });
    await stream;
    publishing = false;
    await alarmLoop;

    // Every publish settles once the clients have reconnected and resent what was unacknowledged.
    await eventually(
      async () => ((await Promise.allSettled(settled)).length === settled.length ? true : undefined),
      "publishes settled",
      60_000,
    );
    const total = DEVICES * PER_DEVICE;
    await settle(
      () => count(h.db.pool, "SELECT count(*) n FROM positions WHERE organisation_id = $1", [org.orgId]),
      acked.size,
    );
    await settle(
      () => count(h.db.pool, "SELECT count(*) n FROM alarms WHERE device_id = $1", [alarmDevice.id]),
      alarmsAcked.size,
    );

    const stored = await h.db.pool.query<{ device_id: string; message_id: string; n: number }>(
      `SELECT device_id, message_id, count(*)::int AS n FROM positions WHERE organisation_id = $1
        GROUP BY device_id, message_id`,
      [org.orgId],
    );
    const storedKeys = new Set(stored.rows.map((r) => `${r.device_id}/${r.message_id}`));
    const lost = [...acked].filter((k) => !storedKeys.has(k));
    const duplicated = stored.rows.filter((r) => r.n > 1).length;
    const rawDuplicates = await count(
      h.db.pool,
      `SELECT count(*) n FROM (SELECT 1 FROM device_messages WHERE organisation_id = $1 AND direction = 'uplink'
         GROUP BY device_id, message_id HAVING count(*) > 1) d`,
      [org.orgId],
    );
    const alarms = await h.db.pool.query<{ id: string; device_message_id: string }>(
      "SELECT id, device_message_id FROM alarms WHERE device_id = $1",
      [alarmDevice.id],
    );
    const alarmIds = alarms.rows.map((r) => r.device_message_id);
    const alarmsLost = [...alarmsAcked].filter((id) => !alarmIds.includes(id));
    const alarmsDuplicated = alarmIds.length - new Set(alarmIds).size;

    // Report: publish -> commit time of each alarm, and which were late because of the restart.
    await eventually(
      () => (alarms.rows.every((r) => committedAt.has(r.id)) ? true : undefined),
      "NOTIFY of every alarm",
    );
    const latencies = alarms.rows.map(
      (r) => (committedAt.get(r.id) as number) - (alarmSentAt.get(r.device_message_id) as number),
    );
    const late = latencies.filter((ms) => ms > 1_000).length;
    console.log(
      `broker restart, reference: a shared subscription received ${sharedSeen.size} of ${total} positions`,
    );
    console.log(
      `broker restart: ${total} positions from ${DEVICES} devices, ${acked.size} PUBACKed, ${stored.rows.length} stored, ` +
        `lost ${lost.length}, duplicated ${duplicated + rawDuplicates}; ` +
        `${alarmSentAt.size} alarms (${alarmsAcked.size} PUBACKed, ${alarmIds.length} stored), ` +
        `publish -> commit p50 ${percentile(latencies, 0.5)} ms, p95 ${percentile(latencies, 0.95)} ms, max ${Math.max(...latencies)} ms, ` +
        `${late} later than 1 s (broker down 1.5 s)`,
    );
    await listener.end();

    expect(acked.size).toBe(total);
    expect(lost.sort()).toEqual([]);
    expect(duplicated).toBe(0);
    expect(rawDuplicates).toBe(0);
    expect(alarmsLost).toEqual([]);
    expect(alarmsDuplicated).toBe(0);
  });
});
