/**
 * `npm start` in miniature: the whole stack on a fresh database with each
 * broker `npm start` can run (Mosquitto from PATH, the embedded aedes) and
 * three simulated devices. Positions from the simulator must reach the
 * database through broker and ingest, the API must answer, an OwnTracks app
 * over MQTT 5 (mosquitto_pub -V mqttv5) must get through Mosquitto, and stop()
 * must bring every part down.
 */
import { spawn } from "node:child_process";

import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, standaloneEnv } from "@vakt/schemas";
import { deviceSecretSha256, freePort, generateDeviceSecret, mosquittoPasswordHash } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import mqtt from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningStack, startStack } from "./stack";

/** The stack's log, kept so that a test that fails can say what the stack did (LOG_LEVEL stays quiet on success). */
const logLines: string[] = [];
const captured = pino(
  { level: "info" },
  {
    write(line: string) {
      logLines.push(line.trimEnd());
      if (logLines.length > 400) logLines.splice(0, logLines.length - 400);
    },
  },
);

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  explain: () => Promise<string>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) {
      console.error(`${what}: not within ${timeoutMs} ms\n${await explain().catch(String)}`);
      throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Ends the broker's persistent sessions of these clients (a clean-session connect discards one). */
async function discardSessions(url: string, clientIds: string[]): Promise<void> {
  for (const clientId of clientIds) {
    const client = await mqtt.connectAsync(url, {
      clientId,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await client.endAsync();
  }
}

// TEST_MQTT_URL: the run names its broker, and the stack uses that one.
const brokers = process.env.TEST_MQTT_URL ? (["external"] as const) : (["mosquitto", "aedes"] as const);

describe.each(brokers)("the standalone stack with %s", (broker) => {
  let db: TestDatabase;
  let stack: RunningStack;
  let dataDir: string;
  // As in production: migrated as the owner, run as a runtime role (roles are cluster-wide: unique name).
  const role = `vakt_rt_${randomBytes(5).toString("hex")}`;

  // On a broker the run shares (the machine's Mosquitto, used by every stack run of a CI pass), an
  // ingest session of its own and no demo device session left by an earlier run: the earlier run's
  // queued uplinks and configurations would reach this one.
  const ingestClientId = `vakt-ingest-test-${randomBytes(4).toString("hex")}`;
  const demoSerials = ["DEMO-0001", "DEMO-0002", "DEMO-0003"];

  beforeAll(async () => {
    if (process.env.TEST_MQTT_URL) await discardSessions(process.env.TEST_MQTT_URL, demoSerials);
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "vakt-stack-"));
    const runtime = new URL(db.url);
    runtime.username = role;
    runtime.password = randomBytes(8).toString("hex");
    const config = loadConfig(standaloneEnv, {
      DATABASE_URL: runtime.toString(),
      MIGRATION_DATABASE_URL: db.url,
      // A real broker when the run names one (it must accept the devices' logins, e.g. anonymous Mosquitto).
      ...(process.env.TEST_MQTT_URL
        ? { MQTT_URL: process.env.TEST_MQTT_URL, INGEST_CLIENT_ID: ingestClientId }
        : {}),
      ...(broker !== "external" ? { MQTT_BROKER: broker } : {}),
      DATA_DIR: dataDir,
      API_PORT: String(await freePort()),
      MQTT_PORT: String(await freePort()),
      INGEST_HTTP_PORT: String(await freePort()),
      SIM_DEVICES: "3",
      DEMO_ADMIN_PASSWORD: "correct horse battery staple",
      LOG_LEVEL: "silent",
    });
    stack = await startStack(config, captured);
  });

  /** What the stack stored and said, for a wait that ran out: devices, dead letters, ingest health, log. */
  async function explain(): Promise<string> {
    const devices = await db.pool.query(
      `SELECT d.serial, d.desired_config_version, d.reported_config_version,
              (SELECT count(*) FROM positions p WHERE p.device_id = d.id) AS positions
         FROM devices d ORDER BY 1`,
    );
    const dead = await db.pool.query(
      "SELECT topic, reason, count(*) n FROM dead_letters GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20",
    );
    const health = await fetch(new URL("/healthz", stack.addresses.osmand.url))
      .then(async (r) => `${r.status} ${await r.text()}`)
      .catch(String);
    return [
      `devices: ${JSON.stringify(devices.rows)}`,
      `dead letters: ${JSON.stringify(dead.rows)}`,
      `ingest health: ${health}`,
      "log:",
      ...logLines,
    ].join("\n");
  }

  afterAll(async () => {
    await stack?.stop();
    if (process.env.TEST_MQTT_URL)
      await discardSessions(process.env.TEST_MQTT_URL, [ingestClientId, ...demoSerials]);
    await db?.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
    await db?.pool.query(`DROP ROLE IF EXISTS ${role}`);
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("carries simulated positions from the devices into the database", async () => {
    const count = await waitFor(
      "positions from the 3 simulated devices",
      async () => {
        const { rows } = await db.pool.query<{ devices: string }>(
          "SELECT count(DISTINCT device_id) AS devices FROM positions",
        );
        const n = Number(rows[0]?.devices);
        return n === 3 ? n : undefined;
      },
      explain,
    );
    expect(count).toBe(3);
  });

  it("sends the seeded devices their configuration, which they confirm", async () => {
    // Seeded straight into the database, they had no retained configuration: "not confirmed" for ever.
    const confirmed = await waitFor(
      "3 devices confirming their configuration",
      async () => {
        const { rows } = await db.pool.query<{ n: string }>(
          "SELECT count(*) n FROM devices WHERE reported_config_version = desired_config_version",
        );
        return Number(rows[0]?.n) === 3 ? 3 : undefined;
      },
      explain,
    );
    expect(confirmed).toBe(3);
  });

  // Defined only where this run chose the broker (no skipped test under TEST_MQTT_URL).
  if (broker !== "external")
    it(`runs ${broker}, and an OwnTracks app over MQTT 5 ${broker === "mosquitto" ? "gets through" : "is refused"}`, async () => {
      expect(stack.broker).toBe(broker);
      const org = await db.pool.query<{ organisation_id: string; department_id: string }>(
        "SELECT organisation_id, department_id FROM devices LIMIT 1",
      );
      const serial = `OT-${randomBytes(4).toString("hex")}`;
      const secret = generateDeviceSecret();
      const dev = await db.pool.query<{ id: string }>(
        `INSERT INTO devices (organisation_id, department_id, serial, mqtt_secret_sha256, mqtt_secret_mosquitto, protocol)
       VALUES ($1, $2, $3, $4, $5, 'owntracks') RETURNING id`,
        [
          org.rows[0]?.organisation_id,
          org.rows[0]?.department_id,
          serial,
          deviceSecretSha256(secret),
          mosquittoPasswordHash(secret),
        ],
      );
      const port = new URL(stack.addresses.mqtt.url).port;
      const tst = Math.floor(Date.now() / 1000) - 5;
      const location = JSON.stringify({
        _type: "location",
        tst,
        lat: 59.91,
        lon: 10.75,
        acc: 8,
        vel: -1,
        cog: -1,
      });
      const publish = () =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const c = spawn("mosquitto_pub", [
            ...[
              "-h",
              "127.0.0.1",
              "-p",
              port,
              "-V",
              "mqttv5",
              "-q",
              "1",
              "-u",
              serial,
              "-P",
              secret,
              "-i",
              serial,
            ],
            ...["-t", `owntracks/anna/${serial}`, "-m", location],
          ]);
          let out = "";
          c.stderr.on("data", (b: Buffer) => {
            out += b.toString();
          });
          c.stdout.on("data", (b: Buffer) => {
            out += b.toString();
          });
          c.once("exit", (code) => resolve({ code, out }));
        });
      if (broker === "mosquitto") {
        // The new device reaches Mosquitto's password file through the LISTEN on device changes.
        await waitFor(
          "mosquitto_pub getting through",
          async () => ((await publish()).code === 0 ? true : undefined),
          explain,
        );
        const stored = await waitFor(
          "the OwnTracks position",
          async () => {
            const r = await db.pool.query("SELECT speed_mps FROM positions WHERE device_id = $1", [
              dev.rows[0]?.id,
            ]);
            return r.rows[0];
          },
          explain,
        );
        expect(stored).toEqual({ speed_mps: null });
      } else {
        const r = await publish();
        expect(r.code).not.toBe(0);
        expect(r.out).toMatch(/unsupported protocol version|Connection Refused|refused/i);
      }
    });

  it("lets the demo administrator log in with the given password", async () => {
    const res = await fetch(`${stack.consoleUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: stack.consoleUrl },
      body: JSON.stringify({ email: stack.demoLogin.email, password: "correct horse battery staple" }),
    });
    expect(res.status).toBe(200);
    expect(stack.demoLogin.generated).toBe(false);
  });

  it("serves the console", async () => {
    const res = await fetch(stack.consoleUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="root">');
  });

  it("runs as the runtime role and keys the activity log with a key file kept under DATA_DIR", async () => {
    const seen = await db.pool.query<{ usename: string }>(
      "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'vakt'",
    );
    expect(seen.rows).toEqual([{ usename: role }]);
    const keyFile = join(dataDir, "activity-log-keys.json");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(await readFile(keyFile, "utf8")) as { ACTIVITY_LOG_KEYS: string };
    expect(keys.ACTIVITY_LOG_KEYS).toMatch(/^k1:/);
    const { rows } = await db.pool.query<{ key_id: string | null }>(
      "SELECT DISTINCT key_id FROM activity_log",
    );
    expect(rows).toEqual([{ key_id: "k1" }]);
  });
});
