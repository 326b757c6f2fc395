/** Shared set-up for integration tests: a database, a Mosquitto from the shipped config, helpers. */
import { randomBytes } from "node:crypto";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import mqtt, { type MqttClient } from "mqtt";
import pg from "pg";
import pino from "pino";
import { startEmbeddedBroker } from "../broker/embedded";
import { generateMosquittoFiles, type ServiceAccount } from "../broker/mosquitto-files";
import { createIngest, type Ingest } from "../ingest";
import { type RunningMosquitto, startMosquitto } from "./mosquitto";

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export interface Harness {
  db: TestDatabase;
  broker: RunningMosquitto;
  ingestAccount: Required<Pick<ServiceAccount, "username" | "password">>;
  simAccount: Required<Pick<ServiceAccount, "username" | "password">>;
  /** A service client that may publish to any device topic (stands in for devices). */
  connectSim(options?: mqtt.IClientOptions): Promise<MqttClient>;
  /** Rewrites passwd/acl from the database and reloads the broker. */
  syncBrokerAccounts(): Promise<void>;
  close(): Promise<void>;
}

/** Fresh service accounts for ingest and for the simulated devices (a service that may publish as any). */
function serviceAccounts() {
  const secret = () => randomBytes(12).toString("hex");
  return {
    ingestAccount: { username: "vakt-ingest", password: secret() },
    simAccount: { username: "vakt-sim", password: secret() },
  };
}

/** The simulated devices' clients on one broker, all ended together. */
function simClients(url: string, account: { username: string; password: string }, protocolVersion: 4 | 5) {
  const clients: MqttClient[] = [];
  return {
    async connect(opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
      const c = await mqtt.connectAsync(url, { ...account, protocolVersion, reconnectPeriod: 0, ...opts });
      clients.push(c);
      return c;
    },
    endAll: () => Promise.all(clients.map((c) => c.endAsync(true).catch(() => {}))),
  };
}

export async function startHarness(options: { extra?: string[] } = {}): Promise<Harness> {
  const db = await createTestDatabase({ poolMax: 8 });
  const { ingestAccount, simAccount } = serviceAccounts();
  const files = await generateMosquittoFiles(db.pool, [ingestAccount, simAccount]);
  const broker = await startMosquitto({
    passwd: files.passwd,
    servicePasswd: files.servicePasswd,
    acl: files.acl,
    extra: options.extra ?? [],
  });
  const sim = simClients(broker.url, simAccount, 5);
  return {
    db,
    broker,
    ingestAccount,
    simAccount,
    connectSim: sim.connect,
    async syncBrokerAccounts() {
      const { writeMosquittoFiles } = await import("../broker/mosquitto-files");
      await writeMosquittoFiles(
        broker.dir,
        await generateMosquittoFiles(db.pool, [ingestAccount, simAccount]),
      );
      broker.reload();
    },
    async close() {
      await sim.endAll();
      await broker.stop();
      await db.drop();
    },
  };
}

/** createIngest's connection options for the harness's database and broker (the test adds the rest). */
export const ingestConnection = (h: Pick<Harness, "db" | "broker" | "ingestAccount">) => ({
  pool: h.db.pool,
  databaseUrl: h.db.url,
  mqttUrl: h.broker.url,
  mqttUsername: h.ingestAccount.username,
  mqttPassword: h.ingestAccount.password,
  logger: testLogger,
});

/**
 * The real ingest (in this process) against a harness's database and broker, with its OsmAnd HTTP
 * edge on a free port: `base` is that edge's URL. Stopped by the caller.
 */
export async function startHttpIngest(
  h: Pick<Harness, "db" | "broker" | "ingestAccount">,
  clientId: string,
  config: Partial<Parameters<typeof createIngest>[0]["config"]> = {},
  options: { supervise?: boolean } = {},
): Promise<{ ingest: Ingest; base: string }> {
  const ingest = createIngest({
    ...ingestConnection(h),
    config: { INGEST_CLIENT_ID: clientId, INGEST_HTTP_PORT: 0, INGEST_HTTP_HOST: "127.0.0.1", ...config },
    http: true,
    ...(options.supervise === false ? { supervise: false } : {}),
  });
  await ingest.start();
  return { ingest, base: `http://127.0.0.1:${ingest.httpPort}` };
}

/** The harness's shape with the embedded broker (aedes, MQTT 3.1.1) in place of Mosquitto. */
export interface AedesHarness extends Omit<Harness, "broker" | "syncBrokerAccounts"> {
  broker: { url: string };
}

export async function startAedesHarness(): Promise<AedesHarness> {
  const db = await createTestDatabase({ poolMax: 8 });
  const { ingestAccount, simAccount } = serviceAccounts();
  const broker = await startEmbeddedBroker({
    pool: db.pool,
    port: await freePort(),
    host: "127.0.0.1",
    logger: testLogger,
    serviceCredentials: [ingestAccount, simAccount],
  });
  const sim = simClients(broker.url, simAccount, 4);
  return {
    db,
    broker,
    ingestAccount,
    simAccount,
    connectSim: sim.connect,
    async close() {
      await sim.endAll();
      await broker.close();
      await db.drop();
    },
  };
}

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs` (a bound, not a measurement). */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function count(pool: pg.Pool, sql: string, values: unknown[] = []): Promise<number> {
  const r = await pool.query<{ n: string }>(sql, values);
  return Number(r.rows[0]?.n ?? 0);
}

/** LISTENs on a channel and collects payloads. */
export async function listen(
  url: string,
  channel: string,
): Promise<{ payloads: string[]; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const payloads: string[] = [];
  client.on("notification", (n) => {
    if (n.channel === channel && n.payload) payloads.push(n.payload);
  });
  await client.query(`LISTEN ${channel}`);
  return { payloads, close: () => client.end() };
}
