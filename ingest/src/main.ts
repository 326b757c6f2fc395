/**
 * The ingest process: `npm start -w @vakt/ingest`, configured from the
 * environment (schemas' ingestEnv). SIGTERM/SIGINT: stop consuming, commit
 * and acknowledge what was received, disconnect, exit.
 */
import { ConfigError, ingestEnv, loadConfig } from "@vakt/schemas";
import { createPool } from "@vakt/storage";
import pino from "pino";
import { createIngest } from "./ingest";

/** How long shutdown may wait for the database; what is not committed by then the broker redelivers. */
const SHUTDOWN_GRACE_MS = 20_000;

let config: ReturnType<typeof loadConfig<typeof ingestEnv>>;
try {
  config = loadConfig(ingestEnv, process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    for (const p of err.problems) console.error(`ingest: ${p}`);
    process.exit(2);
  }
  throw err;
}

const logger = pino({ level: config.LOG_LEVEL, base: { service: "ingest" } });
const pool = createPool(config.DATABASE_URL, { max: 8, applicationName: "vakt-ingest" });
// Alarms commit on connections of their own: never queued behind position batches for one. (The worker
// thread, INGEST_ALARM_LANE=worker, opens its own; this pool then connects only for alarms taken inline.)
const alarmPool = createPool(config.DATABASE_URL, { max: 2, applicationName: "vakt-ingest" });
const ingest = createIngest({
  pool,
  alarmPool,
  alarmLane: config.INGEST_ALARM_LANE,
  databaseUrl: config.DATABASE_URL,
  mqttUrl: config.MQTT_URL,
  ...(config.MQTT_USERNAME !== undefined ? { mqttUsername: config.MQTT_USERNAME } : {}),
  ...(config.MQTT_PASSWORD !== undefined ? { mqttPassword: config.MQTT_PASSWORD } : {}),
  logger,
  config,
  http: true,
  ...(config.INGEST_METRICS
    ? { metricsAddress: { port: config.INGEST_METRICS_PORT, host: config.INGEST_METRICS_HOST } }
    : {}),
  sharedSubscription: config.INGEST_SHARED_SUBSCRIPTION,
  protocolVersion: config.MQTT_PROTOCOL_VERSION,
  stallAfterMs: config.INGEST_STALL_AFTER_MS,
  drainGraceMs: config.INGEST_DRAIN_GRACE_MS,
  maxRedeliveries: config.INGEST_MAX_REDELIVERIES,
  lastWillGraceMs: config.INGEST_LAST_WILL_GRACE_S * 1000,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  const timer = setTimeout(() => {
    logger.warn("shutdown grace period over; exiting with messages unacknowledged (the broker keeps them)");
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  try {
    await ingest.stop();
    await pool.end();
    await alarmPool.end();
    clearTimeout(timer);
    process.exit(0);
  } catch (err) {
    logger.error({ err }, "shutdown failed");
    process.exit(1);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

try {
  await ingest.start();
} catch (err) {
  logger.fatal({ err }, "ingest could not start");
  process.exit(1);
}
