/**
 * Faults: the ingest process killed with SIGKILL (run as a real child
 * process), and the database stopped and started under it. Afterwards every
 * message the broker accepted is stored exactly once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uplinkTopic } from "@vakt/schemas";
import { migrate, type RunningPostgres, startEmbeddedPostgres } from "@vakt/storage";
import type { MqttClient } from "mqtt";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngest } from "./ingest";
import { spawnIngest } from "./testing/child";
import { makeDevice, makeOrganisation } from "./testing/fixtures";
import { count, eventually, type Harness, startHarness, testLogger } from "./testing/harness";

let h: Harness;
let sim: MqttClient;

beforeAll(async () => {
  h = await startHarness();
  sim = await h.connectSim();
});
afterAll(async () => {
  await h?.close();
});

function childEnv(databaseUrl: string, clientId: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    MQTT_URL: h.broker.url,
    MQTT_USERNAME: h.ingestAccount.username,
    MQTT_PASSWORD: h.ingestAccount.password,
    INGEST_CLIENT_ID: clientId,
    INGEST_SHARE_GROUP: clientId,
  };
}

/** Publishes positions numbered from..to-1 (message id and fix time both follow the number). */
async function publishNumbered(
  serial: string,
  from: number,
  to: number,
  base: number,
  pace = 0,
): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let n = from; n < to; n++) {
    const body = { v: 1, id: `n${n}`, fix: { t: base + n * 1_000, lat: 59 + n / 1e6, lon: 10 } };
    inflight.push(sim.publishAsync(uplinkTopic(serial, "position"), JSON.stringify(body), { qos: 1 }));
    if (pace > 0 && n % pace === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
}

async function expectExactlyOnce(pool: pg.Pool, deviceId: string, total: number): Promise<void> {
  await eventually(
    async () => {
      const n = await count(pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [deviceId]);
      return n >= total ? n : undefined;
    },
    `${total} positions`,
    60_000,
  );
  const r = await pool.query<{ rows: string; ids: string; logged: string }>(
    `SELECT (SELECT count(*) FROM positions WHERE device_id = $1) AS rows,
            (SELECT count(DISTINCT message_id) FROM positions WHERE device_id = $1) AS ids,
            (SELECT count(*) FROM device_messages WHERE device_id = $1 AND direction = 'uplink') AS logged`,
    [deviceId],
  );
  expect(r.rows[0]).toEqual({ rows: String(total), ids: String(total), logged: String(total) });
}

describe("ingest killed with SIGKILL", () => {
  it("acknowledges nothing it has not committed: messages held by a blocked commit survive the kill", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const env = childEnv(h.db.url, "fault-kill-1");
    let child = await spawnIngest(env);
    const base = Date.now() - 3_600_000;

    // Hold every insert into positions: ingest receives the messages but cannot commit them.
    const locker = new pg.Client({ connectionString: h.db.url });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE positions IN ACCESS EXCLUSIVE MODE");
    await publishNumbered(dev.serial, 0, 300, base);
    await eventually(async () => {
      const n = await count(
        h.db.pool,
        "SELECT count(*) n FROM pg_stat_activity WHERE application_name = 'vakt-ingest' AND wait_event_type = 'Lock'",
      );
      return n > 0 ? n : undefined;
    }, "ingest waiting on the lock");
    child.process.kill("SIGKILL");
    await child.exited;
    await locker.query("ROLLBACK");
    await locker.end();
    expect(await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id])).toBe(0);

    // The broker still holds them for the persistent session; the restarted process stores them.
    child = await spawnIngest(env);
    await expectExactlyOnce(h.db.pool, dev.id, 300);
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });

  it("stores a numbered stream exactly once across a kill and restart in the middle of it", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const env = childEnv(h.db.url, "fault-kill-2");
    let child = await spawnIngest(env);
    const base = Date.now() - 3_600_000;
    const total = 3_000;
    const stream = publishNumbered(dev.serial, 0, total, base, 50);
    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id]);
      return n > 200 ? n : undefined;
    }, "part of the stream stored");
    child.process.kill("SIGKILL");
    await child.exited;
    child = await spawnIngest(env);
    await stream;
    await expectExactlyOnce(h.db.pool, dev.id, total);
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });
});

describe("ingest stopped with SIGTERM", () => {
  it("commits and acknowledges what it received before it exits", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const child = await spawnIngest(childEnv(h.db.url, "fault-term"));
    const base = Date.now() - 3_600_000;
    const locker = new pg.Client({ connectionString: h.db.url });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE positions IN ACCESS EXCLUSIVE MODE");
    await publishNumbered(dev.serial, 0, 200, base);
    await eventually(async () => {
      const n = await count(
        h.db.pool,
        "SELECT count(*) n FROM pg_stat_activity WHERE application_name = 'vakt-ingest' AND wait_event_type = 'Lock'",
      );
      return n > 0 ? n : undefined;
    }, "ingest waiting on the lock");
    // Every message has reached ingest (held, unacknowledged) before the signal.
    await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${child.metricsPort}/metrics`)).text();
      return /^vakt_ingest_pending_messages 200$/m.test(text) ? true : undefined;
    }, "200 messages held by ingest");
    // The metrics are not on the public OsmAnd port.
    const publicMetrics = await fetch(`http://127.0.0.1:${child.httpPort}/metrics`);
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.text()).not.toContain("vakt_ingest_");
    child.process.kill("SIGTERM");
    await locker.query("ROLLBACK");
    await locker.end();
    expect(await child.exited).toBe(0);
    // No restart: the stopping process itself stored everything it had received.
    expect(await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id])).toBe(
      200,
    );
  });
});

describe("database stopped under ingest", () => {
  let pgServer: RunningPostgres | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await pgServer?.stop().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("stops acknowledging, retries, and resumes without losing or doubling anything", async () => {
    dir = await mkdtemp(join(tmpdir(), "vakt-ingest-pg-"));
    pgServer = await startEmbeddedPostgres({ dataDir: dir });
    const port = pgServer.port;
    const url = pgServer.url;
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await migrate(setup);
    await setup.end();
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on("error", () => {});
    const org = await makeOrganisation(pool);
    const dev = await makeDevice(pool, org);
    const ingest = createIngest({
      pool,
      databaseUrl: url,
      mqttUrl: h.broker.url,
      mqttUsername: h.ingestAccount.username,
      mqttPassword: h.ingestAccount.password,
      logger: testLogger,
      config: { INGEST_CLIENT_ID: "fault-db", INGEST_SHARE_GROUP: "fault-db" },
      http: false,
    });
    await ingest.start();
    const base = Date.now() - 3_600_000;
    await publishNumbered(dev.serial, 0, 500, base);
    await expectExactlyOnce(pool, dev.id, 500);

    await pgServer.stop();
    await publishNumbered(dev.serial, 500, 1_500, base);
    await eventually(
      () => (ingest.backlog() >= 1_000 ? true : undefined),
      "messages held while the database is down",
    );
    expect(ingest.metrics.batchFailures.get()).toBeDefined();
    pgServer = await startEmbeddedPostgres({ dataDir: dir, port });
    await publishNumbered(dev.serial, 1_500, 2_000, base);
    await expectExactlyOnce(pool, dev.id, 2_000);
    expect(ingest.backlog()).toBe(0);
    const failures = (await ingest.metrics.batchFailures.get()).values[0]?.value ?? 0;
    expect(failures).toBeGreaterThan(0);
    await ingest.stop();
    await pool.end();
  });
});
