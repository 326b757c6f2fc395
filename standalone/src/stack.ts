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
import { createSimulator, defaultCentres, homeNear, type SimDevice, seededRandom } from "@vakt/devices";
import { createIngest, findMosquitto, startEmbeddedBroker, startManagedMosquitto } from "@vakt/ingest";
import type { StandaloneEnv } from "@vakt/schemas";
import { createPool, ensureRuntimeRole, freePort, migrate, startEmbeddedPostgres } from "@vakt/storage";
import pg from "pg";
import type { Logger } from "pino";
import { type ChosenPort, choosePort } from "./ports";

/** Where a listener ended up; `movedFrom` is the configured port when that one was taken. */
export interface StackAddress {
  url: string;
  movedFrom?: number;
}

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

export async function startStack(config: StandaloneEnv, logger: Logger): Promise<RunningStack> {
  const stoppers: Stopper[] = [];
  const onStop = (name: string, stop: () => Promise<unknown>) => stoppers.unshift({ name, stop });
  const stop = async () => {
    for (const s of stoppers) {
      try {
        await s.stop();
        logger.info({ part: s.name }, "stopped");
      } catch (err) {
        logger.error({ err, part: s.name }, "stop failed");
      }
    }
  };

  try {
    const dataDir = resolve(config.DATA_DIR);
    const urls = await startDatabase(config, dataDir, logger, onStop);
    // Migrations (and graphile-worker's schema) as the owner; everything else as the runtime role.
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
    const databaseUrl = urls.runtime;
    const pool = createPool(databaseUrl, { max: 10, applicationName: "vakt" });
    // A client in use when its connection ends (the embedded database gets the same Ctrl-C as this
    // process) must not crash the process with an unhandled 'error' event; its query fails instead.
    pool.on("connect", (client) =>
      client.on("error", (err) => logger.warn({ err: err.message }, "database connection ended")),
    );
    // pool.end() waits for every client to come back; one whose holder lost it to a database that
    // stopped first (Ctrl-C reaches the embedded PostgreSQL too) never does, so wait a bounded time.
    onStop("database pool", () => endPool(pool, logger));

    // The activity log's HMAC keys and checkpoint signing key live in a file under DATA_DIR,
    // its checkpoints in another: outside the database.
    const keys = await loadOrCreateKeyFile(join(dataDir, "activity-log-keys.json"));
    const activityLog = activityLogFromConfig({
      ...keys,
      ACTIVITY_CHECKPOINT_FILE: join(dataDir, "activity-checkpoints.jsonl"),
      ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 300,
    });
    useActivityKeyring(activityLog.keyring);

    // A taken port (a system Mosquitto on 1883, another program on 3000) moves that listener.
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

    // Services authenticate to the broker like devices do, with their own account.
    const service = { username: "vakt-service", password: randomBytes(24).toString("base64url") };
    let mqttUrl = config.MQTT_URL;
    /** Where the simulator's devices connect (Mosquitto's device listener binds client id to username). */
    let deviceMqttUrl: string | undefined;
    let brokerKind: "external" | "mosquitto" | "aedes" = "external";
    let mqttProtocol: 4 | 5 = 5;
    let mqttAddress: StackAddress;
    let syncBroker: () => Promise<void> = async () => {};
    const mosquittoBin = config.MQTT_BROKER === "aedes" ? undefined : findMosquitto();
    if (mqttUrl === undefined && config.MQTT_BROKER === "mosquitto" && mosquittoBin === undefined) {
      throw new Error("MQTT_BROKER=mosquitto, but no mosquitto on PATH (or MOSQUITTO_BIN)");
    }
    if (mqttUrl === undefined && mosquittoBin !== undefined) {
      const mqttPort = await listenPort("the MQTT broker", config.MQTT_PORT);
      // The services' listener (127.0.0.1 only) on any free port.
      let servicePort = await freePort();
      while (taken.has(servicePort)) servicePort = await freePort();
      taken.add(servicePort);
      const broker = await startManagedMosquitto({
        bin: mosquittoBin,
        pool,
        databaseUrl,
        dir: join(dataDir, "mosquitto"),
        devicePort: mqttPort.port,
        deviceHost: "0.0.0.0",
        servicePort,
        services: [service],
        logger,
      });
      onStop("mqtt broker", () => broker.close());
      brokerKind = "mosquitto";
      mqttUrl = broker.serviceUrl;
      deviceMqttUrl = broker.deviceUrl;
      syncBroker = () => broker.sync();
      mqttAddress = { url: `mqtt://localhost:${broker.devicePort}`, ...moved(mqttPort) };
      logger.info(
        { devices: broker.deviceUrl, services: broker.serviceUrl, bin: mosquittoBin },
        "MQTT: Mosquitto from PATH with the shipped configuration (MQTT 5 and 3.1.1)",
      );
    } else if (mqttUrl === undefined) {
      const mqttPort = await listenPort("the MQTT broker", config.MQTT_PORT);
      const broker = await startEmbeddedBroker({
        pool,
        port: mqttPort.port,
        host: "0.0.0.0",
        logger,
        serviceCredentials: [service],
      });
      onStop("mqtt broker", () => broker.close());
      brokerKind = "aedes";
      mqttProtocol = 4;
      mqttUrl = broker.url;
      mqttAddress = { url: `mqtt://localhost:${broker.port}`, ...moved(mqttPort) };
      logger.warn(
        { url: broker.url },
        "MQTT: embedded broker (aedes), because no Mosquitto is installed. aedes speaks MQTT 3.1.1 only: " +
          "an MQTT 5 client (an OwnTracks app set to MQTT 5) is refused (CONNACK 132); it has no shared " +
          "subscriptions. Install mosquitto for MQTT 5.",
      );
    } else {
      logger.info({ url: redact(mqttUrl as string) }, "MQTT: external broker from MQTT_URL");
      mqttAddress = { url: redact(mqttUrl as string) };
    }
    const embeddedBroker = brokerKind !== "external";
    const brokerUrl = mqttUrl as string;
    const serviceLogin = embeddedBroker
      ? { mqttUsername: service.username, mqttPassword: service.password }
      : {};

    const ingestPort = await listenPort("OsmAnd (ingest HTTP)", config.INGEST_HTTP_PORT);
    const ingest = createIngest({
      pool,
      databaseUrl,
      mqttUrl: brokerUrl,
      ...serviceLogin,
      logger,
      config: { INGEST_HTTP_PORT: ingestPort.port, INGEST_HTTP_HOST: "0.0.0.0" },
      http: true,
      // One ingest process here: a plain persistent subscription (see INGEST_SHARED_SUBSCRIPTION).
      sharedSubscription: false,
      protocolVersion: mqttProtocol,
      lastWillGraceMs: config.INGEST_LAST_WILL_GRACE_S * 1000,
    });
    await ingest.start();
    onStop("ingest", () => ingest.stop());

    const generated = config.DEMO_ADMIN_PASSWORD === undefined;
    const adminPassword = config.DEMO_ADMIN_PASSWORD ?? randomBytes(12).toString("base64url");
    const demo = await seedDemo(pool, { adminPassword, devices: config.SIM_DEVICES });
    // The demo devices' credentials into Mosquitto's password file before the simulator logs in.
    await syncBroker();

    const deviceCommands = mqttDeviceCommands({
      mqttUrl: brokerUrl,
      username: embeddedBroker ? service.username : undefined,
      password: embeddedBroker ? service.password : undefined,
      logger,
      // The demo devices were seeded straight into the database: their configuration goes out here.
      onConnect: (commands) =>
        void republishPendingConfigs({ pool, logger }, commands).catch((err: unknown) =>
          logger.error({ err }, "sending unconfirmed device configurations again"),
        ),
    });
    onStop("device commands", () => deviceCommands.close());
    const apiPort = await listenPort("the API and console", config.API_PORT);
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
        PSEUDONYM_KEY: await pseudonymKey(dataDir),
        WEB_DIST_DIR: join(import.meta.dirname, "../../web/dist"),
        TILE_URL: config.TILE_URL,
        ...(config.OUTBOUND_ALLOW_NETWORKS
          ? { OUTBOUND_ALLOW_NETWORKS: config.OUTBOUND_ALLOW_NETWORKS }
          : {}),
      },
      deviceCommands: deviceCommands.publisher,
      port: apiPort.port,
      activityLog,
    });
    onStop("api", () => api.close());

    if (config.SIM_ENABLED && demo.devices.length > 0) {
      const random = seededRandom(7);
      const centre = defaultCentres[0];
      const devices: SimDevice[] = demo.devices.map((d) => ({
        serial: d.serial,
        secret: d.secret,
        home: centre ? homeNear(centre, random) : { lat: 59.9139, lon: 10.7522 },
      }));
      const simulator = createSimulator({
        mqttUrl: deviceMqttUrl ?? brokerUrl,
        devices,
        // A lively demo: positions every 30 s, an SOS now and then somewhere in town.
        options: { tracking: true, reportIntervalS: 30, sosPerHour: 0.2, wanderPerHour: 0.5 },
        logger: logger.child({ component: "simulator" }),
      });
      await simulator.start();
      onStop("simulator", () => simulator.stop());
      logger.info({ devices: devices.length }, "simulator running");
    }

    return {
      consoleUrl,
      addresses: {
        console: { url: consoleUrl, ...moved(apiPort) },
        mqtt: mqttAddress,
        osmand: { url: `http://localhost:${ingest.httpPort ?? ingestPort.port}/`, ...moved(ingestPort) },
      },
      broker: brokerKind,
      demoLogin: { email: demo.adminEmail, password: adminPassword, generated, totp: demo.adminTotp },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startDatabase(
  config: StandaloneEnv,
  dataDir: string,
  logger: Logger,
  onStop: (name: string, stop: () => Promise<unknown>) => void,
): Promise<{ owner: string; runtime: string }> {
  if (config.DATABASE_URL) {
    logger.info({ url: redact(config.DATABASE_URL) }, "database: external PostgreSQL from DATABASE_URL");
    return { owner: config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL, runtime: config.DATABASE_URL };
  }
  const server = await startEmbeddedPostgres({
    dataDir: join(dataDir, "postgres"),
    onLog: (line) => logger.debug({ component: "postgres" }, line),
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

function moved(chosen: ChosenPort): { movedFrom?: number } {
  return chosen.wanted === undefined ? {} : { movedFrom: chosen.wanted };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
