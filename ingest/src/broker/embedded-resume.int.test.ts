/**
 * A persistent session resumed on the embedded broker while new messages keep coming: every
 * message the broker accepted reaches the subscriber, those it had sent before come again marked
 * DUP, and the connection is not dropped. aedes alone resent the old messages under their old packet
 * identifiers while numbering new ones from 1, so an acknowledgement of a new message cleared an old
 * one still queued ("no such packet"), the connection dropped and that message was gone; and it
 * sent a message queued at the instant of the resume twice on the new connection.
 */
import { freePort } from "@vakt/storage";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MqttConsumer } from "../mqtt/consumer";
import { eventually, testLogger } from "../testing/harness";
import { type EmbeddedBroker, startEmbeddedBroker } from "./embedded";

let db: TestDatabase;
let broker: EmbeddedBroker;
const consumer = { username: "vakt-ingest", password: "resume-consumer-secret" };
const publisher = { username: "vakt-sim", password: "resume-publisher-secret" };
const TOPIC = "vakt/v1/d/RESUME-1/up/position";
const clients: MqttClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await startEmbeddedBroker({
    pool: db.pool,
    port: await freePort(),
    host: "127.0.0.1",
    logger: testLogger,
    serviceCredentials: [consumer, publisher],
  });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.close();
  await db?.drop();
});

const connect = async (account: { username: string; password: string }, opts: mqtt.IClientOptions = {}) => {
  const c = await mqtt.connectAsync(broker.url, {
    ...account,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...opts,
  });
  clients.push(c);
  return c;
};

it("resumes a session under load without losing a message or dropping the connection", async () => {
  const pub = await connect(publisher);
  const session = {
    url: broker.url,
    clientId: "vakt-ingest-resume",
    ...consumer,
    subscriptions: [TOPIC],
    protocolVersion: 4 as const,
    logger: testLogger,
  };
  // The first consumer takes messages and acknowledges none (ingest before its commit), then dies.
  let held = 0;
  const first = new MqttConsumer({ ...session, onMessage: () => held++ });
  await first.start();
  await eventually(() => (first.mqtt?.connected ? true : undefined), "first consumer");
  await new Promise((r) => setTimeout(r, 200)); // its subscription
  const send = (from: number, to: number) =>
    Promise.all(
      Array.from({ length: to - from }, (_, i) => pub.publishAsync(TOPIC, String(from + i), { qos: 1 })),
    );
  await send(0, 3_000);
  await eventually(() => (held >= 3_000 ? true : undefined), "3,000 messages held unacknowledged");
  first.mqtt?.stream.destroy();
  await first.stop();

  // The second acknowledges at once while new messages arrive beside the resent ones.
  const seen = new Map<string, boolean>();
  const copies = new Map<string, number>();
  let lastAt = Date.now();
  const second = new MqttConsumer({
    ...session,
    onMessage: (_topic, payload, ack, redelivered) => {
      const k = payload.toString();
      seen.set(k, (seen.get(k) ?? false) || redelivered);
      copies.set(k, (copies.get(k) ?? 0) + 1);
      lastAt = Date.now();
      ack();
    },
  });
  let closed = 0;
  const sending = send(3_000, 9_000);
  await second.start();
  second.mqtt?.on("close", () => closed++);
  await sending;
  await eventually(() => (seen.size >= 9_000 ? true : undefined), "all 9,000 messages", 60_000).catch(
    (err: unknown) => {
      throw new Error(`${String(err)}: ${seen.size} received, connection closed ${closed} times`);
    },
  );
  expect(closed).toBe(0);
  // Everything the first consumer held came again marked as sent before.
  const resentWithDup = [...Array(3_000).keys()].filter((n) => seen.get(String(n)) === true).length;
  expect(resentWithDup).toBe(3_000);
  // And each came once: a message queued just as the session resumed was sent by the resend and
  // live, so its dead letter was stored twice. Wait for the broker to fall quiet before counting.
  await eventually(() => (Date.now() - lastAt > 1_000 ? true : undefined), "broker quiet");
  const twice = [...copies.values()].filter((n) => n > 1).length;
  expect(twice, `${twice} of 9,000 messages delivered more than once on one connection`).toBe(0);
  await second.stop();
});
