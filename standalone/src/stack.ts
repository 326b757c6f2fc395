/**
 * Everything `npm start` runs, in one process: PostgreSQL (embedded unless
 * DATABASE_URL is set), an MQTT broker (embedded aedes unless MQTT_URL is
 * set), ingest, the API serving the console, and a small simulator. Each part
 * is started in dependency order and stopped in reverse, draining as it goes.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  activityLogFromConfig,
  loadOrCreateKeyFile,
  mqttDeviceCommands,
  republishPendingConfigs,
  runGraphileMigrations,
  seedDemo,
  startApiServer,
  useActivityKeyring,
} from "@vakt/api";
import {
  createSimulator,
  defaultCentres,
  homeNear,
  type SimDevice,
  type SimOptionsInput,
  seededRandom,
} from "@vakt/devices";
import { createIngest } from "@vakt/ingest";
import { MAX_FUTURE_SKEW_MS, type StandaloneEnv } from "@vakt/schemas";
import { createPool, ensureRuntimeRole, migrate, startEmbeddedPostgres } from "@vakt/storage";
import pg from "pg";
import type { Logger } from "pino";
import { type ChosenPort, choosePort } from "./ports";
import { moved, redact, type StackAddress, startBroker } from "./stack-broker";

export type { StackAddress };

export interface RunningStack {
  consoleUrl: string;
  /** Every address a person or a device needs: the console, MQTT for devices, OsmAnd (Traccar Client). */
  addresses: { console: StackAddress; mqtt: StackAddress; osmand: StackAddress };
  /** Which MQTT broker runs: Mosquitto from PATH, the embedded aedes, or the one MQTT_URL names. */
  broker: "mosquitto" | "aedes" | "external";
  demoLogin: {
    email: string;
    password: string;
    generated: boolean;
    totp: { secret: string; otpauthUri: string };
  };
  stop(): Promise<void>;
}

type Stopper = { name: string; stop: () => Promise<unknown> };
type OnStop = (name: string, stop: () => Promise<unknown>) => void;

/** Parts register their stop as they start; `stop` runs them in reverse, each failure logged. */
function stoppers(logger: Logger): { onStop: OnStop; stop: () => Promise<void> } {
  const registered: Stopper[] = [];
  const onStop: OnStop = (name, stop) => registered.unshift({ name, stop });
  const stop = async () => {
    for (const s of registered) {
      try {
        await s.stop();
        logger.info({ part: s.name }, "stopped");
      } catch (err) {
        logger.error({ err, part: s.name }, "stop failed");
      }
    }
  };
  return { onStop, stop };
}

export async function startStack(config: StandaloneEnv, logger: Logger): Promise<RunningStack> {
  const { onStop, stop } = stoppers(logger);
  try {
    const dataDir = resolve(config.DATA_DIR);
    const urls = await startDatabase(config, dataDir, logger, onStop);
    await migrateDatabase(urls, logger);
    const databaseUrl = urls.runtime;
    const pool = openPool(databaseUrl, logger, onStop);
    const activityLog = await openActivityLog(dataDir);
    const { listenPort, taken } = portChooser(logger);
    // Services authenticate to the broker like devices do, with their own account.
    const service = { username: "vakt-service", password: randomBytes(24).toString("base64url") };
    const broker = await startBroker({
      config,
      pool,
      databaseUrl,
      dataDir,
      logger,
      onStop,
      listenPort,
      taken,
      service,
    });
    const serviceLogin = broker.kind !== "external" ? service : undefined;

    const ingestPort = await listenPort("OsmAnd (ingest HTTP)", config.INGEST_HTTP_PORT);
    const ingest = createIngest({
      pool,
      databaseUrl,
      mqttUrl: broker.url,
      ...(serviceLogin ? { mqttUsername: serviceLogin.username, mqttPassword: serviceLogin.password } : {}),
      logger,
      config: {
        INGEST_HTTP_PORT: ingestPort.port,
        INGEST_HTTP_HOST: "0.0.0.0",
        INGEST_CLIENT_ID: config.INGEST_CLIENT_ID,
      },
      http: true,
      // One ingest process here: a plain persistent subscription (see INGEST_SHARED_SUBSCRIPTION).
      sharedSubscription: false,
      protocolVersion: broker.protocol,
      lastWillGraceMs: config.INGEST_LAST_WILL_GRACE_S * 1000,
    });
    await ingest.start();
    onStop("ingest", () => ingest.stop());

    const generated = config.DEMO_ADMIN_PASSWORD === undefined;
    const adminPassword = config.DEMO_ADMIN_PASSWORD ?? randomBytes(12).toString("base64url");
    const demo = await seedDemo(pool, { adminPassword, devices: config.SIM_DEVICES });
    // The demo devices' credentials into Mosquitto's password file before the simulator logs in.
    await broker.sync();

    const api = { config, pool, logger, onStop, listenPort, dataDir, activityLog, brokerUrl: broker.url };
    const { consoleUrl, apiPort } = await startApi(api, serviceLogin);
    if (config.SIM_ENABLED && demo.devices.length > 0) {
      await startDemoSimulator(demo.devices, broker.deviceUrl ?? broker.url, logger, onStop);
    }

    return {
      consoleUrl,
      addresses: {
        console: { url: consoleUrl, ...moved(apiPort) },
        mqtt: broker.address,
        osmand: { url: `http://localhost:${ingest.httpPort ?? ingestPort.port}/`, ...moved(ingestPort) },
      },
      broker: broker.kind,
      demoLogin: { email: demo.adminEmail, password: adminPassword, generated, totp: demo.adminTotp },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Migrations (and graphile-worker's schema) as the owner; everything else as the runtime role. */
async function migrateDatabase(urls: { owner: string; runtime: string }, logger: Logger) {
  // One client migrates; graphile-worker's migration takes another.
  const owner = createPool(urls.owner, { max: 2, applicationName: "vakt-migrate" });
  try {
    const migrationClient = await owner.connect();
    try {
      const ran = await migrate(migrationClient, {
        log: (msg, name) => logger.info({ migration: name }, msg),
      });
      logger.info({ applied: ran.length }, "database schema up to date");
      await runGraphileMigrations(owner, logger);
      if (urls.runtime !== urls.owner) {
        logger.info(await ensureRuntimeRole(migrationClient, urls.runtime), "runtime database role");
      }
    } finally {
      migrationClient.release();
    }
  } finally {
    await owner.end();
  }
}

function openPool(databaseUrl: string, logger: Logger, onStop: OnStop): pg.Pool {
  const pool = createPool(databaseUrl, { max: 10, applicationName: "vakt" });
  // A client in use when its connection ends (the embedded database gets the same Ctrl-C as this
  // process) must not crash the process with an unhandled 'error' event; its query fails instead.
  pool.on("connect", (client) =>
    client.on("error", (err) => logger.warn({ err: err.message }, "database connection ended")),
  );
  // pool.end() waits for every client to come back; one whose holder lost it to a database that
  // stopped first (Ctrl-C reaches the embedded PostgreSQL too) never does, so wait a bounded time.
  onStop("database pool", () => endPool(pool, logger));
  return pool;
}

/**
 * The activity log's HMAC keys and checkpoint signing key live in a file under DATA_DIR,
 * its checkpoints in another: outside the database.
 */
async function openActivityLog(dataDir: string) {
  const keys = await loadOrCreateKeyFile(join(dataDir, "activity-log-keys.json"));
  const activityLog = activityLogFromConfig({
    ...keys,
    ACTIVITY_CHECKPOINT_FILE: join(dataDir, "activity-checkpoints.jsonl"),
    ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 300,
  });
  useActivityKeyring(activityLog.keyring);
  return activityLog;
}

/** A taken port (a system Mosquitto on 1883, another program on 3000) moves that listener. */
function portChooser(logger: Logger) {
  const taken = new Set<number>();
  const listenPort = async (name: string, wanted: number): Promise<ChosenPort> => {
    const chosen = await choosePort(wanted, "0.0.0.0", taken);
    taken.add(chosen.port);
    if (chosen.wanted !== undefined)
      logger.warn(
        { listener: name, wanted, port: chosen.port },
        `port ${wanted} is taken; ${name} uses ${chosen.port}`,
      );
    return chosen;
  };
  return { listenPort, taken };
}

interface ApiContext {
  config: StandaloneEnv;
  pool: pg.Pool;
  logger: Logger;
  onStop: OnStop;
  listenPort: (name: string, wanted: number) => Promise<ChosenPort>;
  dataDir: string;
  activityLog: ReturnType<typeof activityLogFromConfig>;
  brokerUrl: string;
}

/** Device commands over MQTT, then the API serving the console. */
async function startApi(c: ApiContext, serviceLogin: { username: string; password: string } | undefined) {
  const { config, pool, logger } = c;
  const deviceCommands = mqttDeviceCommands({
    mqttUrl: c.brokerUrl,
    transactionsLog: pool,
    username: serviceLogin?.username,
    password: serviceLogin?.password,
    logger,
    // The demo devices were seeded straight into the database: their configuration goes out here.
    onConnect: (commands) =>
      void republishPendingConfigs({ pool, logger }, commands).catch((err: unknown) =>
        logger.error({ err }, "sending unconfirmed device configurations again"),
      ),
  });
  c.onStop("device commands", () => deviceCommands.close());
  const apiPort = await c.listenPort("the API and console", config.API_PORT);
  const consoleUrl = `http://localhost:${apiPort.port}`;
  const api = await startApiServer({
    pool,
    logger,
    clock: { now: () => new Date() },
    config: {
      NODE_ENV: config.NODE_ENV,
      PUBLIC_URL: consoleUrl,
      SESSION_IDLE_MINUTES: 30,
      SESSION_ABSOLUTE_HOURS: 12,
      PSEUDONYM_KEY: await pseudonymKey(c.dataDir),
      WEB_DIST_DIR: join(import.meta.dirname, "../../web/dist"),
      TILE_URL: config.TILE_URL,
      ...(config.OUTBOUND_ALLOW_NETWORKS ? { OUTBOUND_ALLOW_NETWORKS: config.OUTBOUND_ALLOW_NETWORKS } : {}),
    },
    deviceCommands: deviceCommands.publisher,
    port: apiPort.port,
    activityLog: c.activityLog,
  });
  c.onStop("api", () => api.close());
  return { consoleUrl, apiPort };
}

/**
 * A lively demo: positions every 30 s, an SOS now and then somewhere in town. Clocks may be a little
 * off, as real ones are, but within what ingest accepts (MAX_FUTURE_SKEW_MS): the simulator's
 * default (2 % of devices, up to 15 min either way) left one demo device in 300 stamping every
 * position too far ahead, refused as timestamp_in_future and never on the map.
 */
export const DEMO_SIMULATOR_OPTIONS = {
  tracking: true,
  reportIntervalS: 30,
  sosPerHour: 0.2,
  wanderPerHour: 0.5,
  skewMaxMs: Math.floor(MAX_FUTURE_SKEW_MS / 5),
} satisfies SimOptionsInput;

/** The demo devices, simulated around the first town centre. */
async function startDemoSimulator(
  demoDevices: { serial: string; secret: string }[],
  mqttUrl: string,
  logger: Logger,
  onStop: OnStop,
) {
  const random = seededRandom(7);
  const centre = defaultCentres[0];
  const devices: SimDevice[] = demoDevices.map((d) => ({
    serial: d.serial,
    secret: d.secret,
    home: centre ? homeNear(centre, random) : { lat: 59.9139, lon: 10.7522 },
  }));
  const simulator = createSimulator({
    mqttUrl,
    devices,
    options: DEMO_SIMULATOR_OPTIONS,
    logger: logger.child({ component: "simulator" }),
  });
  await simulator.start();
  onStop("simulator", () => simulator.stop());
  logger.info({ devices: devices.length }, "simulator running");
}

async function startDatabase(
  config: StandaloneEnv,
  dataDir: string,
  logger: Logger,
  onStop: OnStop,
): Promise<{ owner: string; runtime: string }> {
  if (config.DATABASE_URL) {
    logger.info({ url: redact(config.DATABASE_URL) }, "database: external PostgreSQL from DATABASE_URL");
    return { owner: config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL, runtime: config.DATABASE_URL };
  }
  const server = await startEmbeddedPostgres({
    dataDir: join(dataDir, "postgres"),
    onLog: (line) => logger.debug({ component: "postgres" }, line),
    // Ctrl-C reaches this process only; it stops the parts in order and the database last.
    ownProcessGroup: true,
  });
  onStop("embedded postgres", () => server.stop());
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'vakt'");
    if (exists.rowCount === 0) await admin.query("CREATE DATABASE vakt");
  } finally {
    await admin.end();
  }
  logger.info({ dataDir: join(dataDir, "postgres"), port: server.port }, "database: embedded PostgreSQL");
  return { owner: server.urlFor("vakt"), runtime: server.runtimeUrlFor("vakt") };
}

/** A try-out keeps its pseudonym key beside its data, so pseudonymous ids stay stable across restarts. */
async function pseudonymKey(dataDir: string): Promise<string> {
  const file = join(dataDir, "pseudonym-key");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const key = randomBytes(32).toString("base64url");
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}

async function endPool(pool: pg.Pool, logger: Logger, waitMs = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), waitMs);
  });
  const outcome = await Promise.race([pool.end().then(() => "ended" as const), timedOut]);
  clearTimeout(timer);
  if (outcome === "timeout")
    logger.warn(
      { waiting: pool.totalCount - pool.idleCount },
      "database pool: connections still held; not waiting",
    );
}
