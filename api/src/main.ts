/**
 * Runs the API from the environment: `npm start -w @vakt/api`.
 * Device configuration is published over MQTT (MQTT_URL).
 */
import { apiEnv, ConfigError, loadConfig } from "@vakt/schemas";
import { createPool, ensureRuntimeRole, migrate } from "@vakt/storage";
import pino from "pino";
import { type ActivityLogSetup, activityLogFromConfig } from "./activity/chain";
import { httpSmsGateway, runGraphileMigrations } from "./alerting";
import { mqttDeviceCommands } from "./devices/commands";
import { republishPendingConfigs } from "./devices/service";
import { smtpMailer } from "./mailer";
import { createApiMetrics } from "./metrics";
import { createOutboundHttp, literalRefusal, parseAllowList } from "./outbound";
import { startRetentionScheduler } from "./retention/scheduler";
import { startApiServer } from "./server";

type ApiConfig = ReturnType<typeof loadConfig<typeof apiEnv>>;

/** The configuration, or exit 2 with what is wrong with it. */
function configOrExit() {
  let config: ApiConfig;
  try {
    config = loadConfig(apiEnv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  let activityLog: ActivityLogSetup;
  try {
    activityLog = activityLogFromConfig(config);
  } catch (err) {
    console.error(`invalid configuration: ${(err as Error).message}`);
    process.exit(2);
  }
  // A gateway or receiver on an address the outbound guard refuses would fail at every send: say so now.
  const allow = parseAllowList(config.OUTBOUND_ALLOW_NETWORKS);
  for (const name of ["SMS_GATEWAY_URL", "ACTIVITY_CHECKPOINT_URL"] as const) {
    const why = config[name] ? literalRefusal(config[name], allow) : null;
    if (why) {
      console.error(`invalid configuration: ${name}: ${why}`);
      process.exit(2);
    }
  }
  return { config, activityLog, allow };
}

/**
 * Migrations run as the tables' owner (MIGRATION_DATABASE_URL) when one is configured;
 * the process itself connects as the runtime role of DATABASE_URL.
 */
async function migrateAsOwner(config: ApiConfig, logger: pino.Logger) {
  const owner = createPool(config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL, {
    applicationName: "vakt-api-migrate",
    // One client migrates; graphile-worker's migration takes another.
    max: 2,
  });
  try {
    const client = await owner.connect();
    try {
      await migrate(client, { log: (message, name) => logger.info({ migration: name }, message) });
      await runGraphileMigrations(owner, logger);
      if (config.MIGRATION_DATABASE_URL) {
        const r = await ensureRuntimeRole(client, config.DATABASE_URL);
        logger.info(r, "runtime database role");
      } else {
        logger.warn("MIGRATION_DATABASE_URL not set: the API connects as the owner of the tables");
      }
    } finally {
      client.release();
    }
  } finally {
    await owner.end();
  }
}

async function main() {
  const { config, activityLog, allow } = configOrExit();
  const logger = pino({ level: config.LOG_LEVEL, name: "vakt-api" });
  const outbound = createOutboundHttp({ allow, logger: logger.child({ component: "outbound" }) });
  if (!config.ACTIVITY_LOG_KEYS)
    logger.warn("ACTIVITY_LOG_KEYS not set: activity-log rows use a key that ends with this process");
  if (!activityLog.signingKey)
    logger.warn("ACTIVITY_CHECKPOINT_KEY not set: no activity-log checkpoints are written");
  await migrateAsOwner(config, logger);
  const pool = createPool(config.DATABASE_URL, { applicationName: "vakt-api", max: 20 });
  const { publisher, close: closeMqtt } = mqttDeviceCommands({
    mqttUrl: config.MQTT_URL,
    transactionsLog: pool,
    username: config.MQTT_USERNAME,
    password: config.MQTT_PASSWORD,
    logger,
    onConnect: (commands) =>
      void republishPendingConfigs({ pool, logger }, commands).catch((err: unknown) =>
        logger.error({ err }, "sending unconfirmed device configurations again"),
      ),
  });
  // Alarm e-mails (and invitations) over SMTP, alarm SMS through the gateway, when configured.
  const mailer = config.SMTP_URL ? smtpMailer(config.SMTP_URL, config.SMTP_FROM) : undefined;
  const api = await startApiServer({
    pool,
    logger,
    clock: { now: () => new Date() },
    config,
    deviceCommands: publisher,
    ...(mailer ? { mailer } : {}),
    outbound,
    ...(config.SMS_GATEWAY_URL ? { sms: httpSmsGateway(config.SMS_GATEWAY_URL, outbound) } : {}),
    alerting: { concurrency: config.ALERT_WORKER_CONCURRENCY },
    alarmPoolSize: config.API_ALARM_POOL_SIZE,
    live: { redisUrl: config.REDIS_URL },
    port: config.API_PORT,
    host: config.API_HOST,
    activityLog,
    ...(config.API_METRICS
      ? {
          metrics: createApiMetrics({ defaultMetrics: true }),
          metricsAddress: { port: config.API_METRICS_PORT, host: config.API_METRICS_HOST },
        }
      : {}),
  });
  // Retention and erasure (issue 7): hourly on graphile-worker's cron, one run for all processes.
  const retention = await startRetentionScheduler({ pool, clock: { now: () => new Date() }, logger });
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await retention.stop().catch((err) => logger.error({ err }, "stopping retention"));
    await api.close().catch((err) => logger.error({ err }, "closing http server"));
    await closeMqtt().catch((err) => logger.error({ err }, "closing mqtt"));
    mailer?.close();
    await pool.end();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  logger.info({ url: api.url }, "api listening");
}

void main();
