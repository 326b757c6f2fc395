/** Ingest on the embedded broker (MQTT 3.1.1, no $share), with a device using its own credentials. */
import { ackMessage, downlinkTopic, uplinkTopic } from "@vakt/schemas";
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import mqtt from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createIngest, type Ingest } from "../ingest";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { count, eventually, testLogger } from "../testing/harness";
import { type EmbeddedBroker, startEmbeddedBroker } from "./embedded";

let db: TestDatabase;
let broker: EmbeddedBroker;
let ingest: Ingest;
const service = { username: "vakt-ingest", password: "embedded-service-secret" };

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await startEmbeddedBroker({
    pool: db.pool,
    port: await freePort(),
    host: "127.0.0.1",
    logger: testLogger,
    serviceCredentials: [service],
  });
  ingest = createIngest({
    pool: db.pool,
    databaseUrl: db.url,
    mqttUrl: broker.url,
    mqttUsername: service.username,
    mqttPassword: service.password,
    logger: testLogger,
    protocolVersion: 4,
    sharedSubscription: false,
    http: false,
  });
  await ingest.start();
});

afterAll(async () => {
  await ingest?.stop();
  await broker?.close();
  await db?.drop();
});

it("takes a device's position and alarm and acknowledges the alarm to that device", async () => {
  const org = await makeOrganisation(db.pool);
  const dev = await makeDevice(db.pool, org);
  const device = await mqtt.connectAsync(broker.url, {
    username: dev.serial,
    password: dev.secret,
    protocolVersion: 4,
    clean: false,
    clientId: dev.serial,
    reconnectPeriod: 0,
  });
  const acks: unknown[] = [];
  device.on("message", (_t, p) => acks.push(JSON.parse(p.toString())));
  await device.subscribeAsync(downlinkTopic(dev.serial, "ack"), { qos: 1 });
  const t = Date.now() - 1_000;
  await device.publishAsync(
    uplinkTopic(dev.serial, "position"),
    JSON.stringify({ v: 1, id: "e1", fix: { t, lat: 63.4, lon: 10.4 } }),
    { qos: 1 },
  );
  await device.publishAsync(
    uplinkTopic(dev.serial, "alarm"),
    JSON.stringify({ v: 1, id: "e2", t, type: "sos" }),
    {
      qos: 1,
    },
  );
  await eventually(() => (acks.length > 0 ? true : undefined), "alarm ack");
  expect(ackMessage.parse(acks[0])).toMatchObject({ ackOf: "e2", status: "received" });
  // The position's batch may commit after the alarm's (alarms do not wait for a batch to fill).
  await eventually(
    async () =>
      (await count(db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id])) || undefined,
    "the position",
  );
  expect(await count(db.pool, "SELECT count(*) n FROM alarms WHERE device_id = $1", [dev.id])).toBe(1);
  await device.endAsync();
});
