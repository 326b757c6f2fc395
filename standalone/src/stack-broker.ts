/**
 * The stack's MQTT broker (stack.ts): Mosquitto from PATH with the shipped configuration, else the
 * embedded aedes, or none when MQTT_URL names an external one. Services log in with their own account.
 */
import { join } from "node:path";
import { findMosquitto, startEmbeddedBroker, startManagedMosquitto } from "@vakt/ingest";
import type { StandaloneEnv } from "@vakt/schemas";
import { freePort } from "@vakt/storage";
import type pg from "pg";
import type { Logger } from "pino";
import type { ChosenPort } from "./ports";

/** Where a listener ended up; `movedFrom` is the configured port when that one was taken. */
export interface StackAddress {
  url: string;
  movedFrom?: number;
}

export interface StackBroker {
  kind: "external" | "mosquitto" | "aedes";
  /** Where the services connect. */
  url: string;
  /** Where the simulator's devices connect (Mosquitto's device listener binds client id to username). */
  deviceUrl: string | undefined;
  protocol: 4 | 5;
  /** The address devices are told. */
  address: StackAddress;
  /** Writes the devices' credentials where the broker reads them (Mosquitto's password file). */
  sync: () => Promise<void>;
}

export interface BrokerContext {
  config: StandaloneEnv;
  pool: pg.Pool;
  databaseUrl: string;
  dataDir: string;
  logger: Logger;
  onStop: (name: string, stop: () => Promise<unknown>) => void;
  listenPort: (name: string, wanted: number) => Promise<ChosenPort>;
  /** Ports already handed to this process's listeners. */
  taken: Set<number>;
  service: { username: string; password: string };
}

export async function startBroker(c: BrokerContext): Promise<StackBroker> {
  const { config, logger } = c;
  const mqttUrl = config.MQTT_URL;
  const mosquittoBin = config.MQTT_BROKER === "aedes" ? undefined : findMosquitto();
  if (mqttUrl === undefined && config.MQTT_BROKER === "mosquitto" && mosquittoBin === undefined) {
    throw new Error("MQTT_BROKER=mosquitto, but no mosquitto on PATH (or MOSQUITTO_BIN)");
  }
  if (mqttUrl === undefined && mosquittoBin !== undefined) return startMosquitto(c, mosquittoBin);
  if (mqttUrl === undefined) return startAedes(c);
  logger.info({ url: redact(mqttUrl) }, "MQTT: external broker from MQTT_URL");
  return {
    kind: "external",
    url: mqttUrl,
    deviceUrl: undefined,
    protocol: 5,
    address: { url: redact(mqttUrl) },
    sync: async () => {},
  };
}

async function startMosquitto(c: BrokerContext, bin: string): Promise<StackBroker> {
  const mqttPort = await c.listenPort("the MQTT broker", c.config.MQTT_PORT);
  // The services' listener (127.0.0.1 only) on any free port.
  let servicePort = await freePort();
  while (c.taken.has(servicePort)) servicePort = await freePort();
  c.taken.add(servicePort);
  const broker = await startManagedMosquitto({
    bin,
    pool: c.pool,
    databaseUrl: c.databaseUrl,
    dir: join(c.dataDir, "mosquitto"),
    devicePort: mqttPort.port,
    deviceHost: "0.0.0.0",
    servicePort,
    services: [c.service],
    logger: c.logger,
  });
  c.onStop("mqtt broker", () => broker.close());
  c.logger.info(
    { devices: broker.deviceUrl, services: broker.serviceUrl, bin },
    "MQTT: Mosquitto from PATH with the shipped configuration (MQTT 5 and 3.1.1)",
  );
  return {
    kind: "mosquitto",
    url: broker.serviceUrl,
    deviceUrl: broker.deviceUrl,
    protocol: 5,
    address: { url: `mqtt://localhost:${broker.devicePort}`, ...moved(mqttPort) },
    sync: () => broker.sync(),
  };
}

async function startAedes(c: BrokerContext): Promise<StackBroker> {
  const mqttPort = await c.listenPort("the MQTT broker", c.config.MQTT_PORT);
  const broker = await startEmbeddedBroker({
    pool: c.pool,
    port: mqttPort.port,
    host: "0.0.0.0",
    logger: c.logger,
    serviceCredentials: [c.service],
  });
  c.onStop("mqtt broker", () => broker.close());
  c.logger.warn(
    { url: broker.url },
    "MQTT: embedded broker (aedes), because no Mosquitto is installed. aedes speaks MQTT 3.1.1 only: " +
      "an MQTT 5 client (an OwnTracks app set to MQTT 5) is refused (CONNACK 132); it has no shared " +
      "subscriptions. Install mosquitto for MQTT 5.",
  );
  return {
    kind: "aedes",
    url: broker.url,
    deviceUrl: undefined,
    protocol: 4,
    address: { url: `mqtt://localhost:${broker.port}`, ...moved(mqttPort) },
    sync: async () => {},
  };
}

export function moved(chosen: ChosenPort): { movedFrom?: number } {
  return chosen.wanted === undefined ? {} : { movedFrom: chosen.wanted };
}

export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
