/**
 * What ingest relies on to store a dead letter only once: a message it
 * received but never acknowledged comes back from Mosquitto (shipped
 * configuration) marked as a redelivery, to a new process on the same
 * persistent session, and a fresh message is not so marked.
 */
import mqtt from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMosquitto, startMosquitto } from "../testing/mosquitto";
import { MqttConsumer } from "./consumer";

let broker: RunningMosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(() => broker?.stop());

interface Seen {
  payload: string;
  redelivered: boolean;
}

function consumer(clientId: string, seen: Seen[], ackIt: boolean) {
  return new MqttConsumer({
    url: broker.url,
    clientId,
    subscriptions: ["redelivery/#"],
    logger: pino({ level: "silent" }),
    onMessage: (_topic, payload, ack, redelivered) => {
      seen.push({ payload: payload.toString(), redelivered });
      if (ackIt) ack();
    },
  });
}

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("MQTT redelivery flag", () => {
  it("marks a message sent again after the receiver died without acknowledging it, and only that one", async () => {
    const clientId = `redelivery-${Math.random().toString(16).slice(2)}`;
    const first: Seen[] = [];
    const dying = consumer(clientId, first, false);
    await dying.start();
    // Subscribed once the broker answers a round trip after the SUBACK.
    await new Promise((r) => setTimeout(r, 200));
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await publisher.publishAsync("redelivery/a", "one", { qos: 1 });
    await until(() => (first.length === 1 ? true : undefined), "the first delivery");
    expect(first).toEqual([{ payload: "one", redelivered: false }]);

    // Gone without a PUBACK (a crash: no DISCONNECT); a new process takes the session over.
    dying.mqtt?.end(true);
    const second: Seen[] = [];
    const next = consumer(clientId, second, true);
    await next.start();
    await until(() => (second.length >= 1 ? true : undefined), "the redelivery");
    await publisher.publishAsync("redelivery/a", "two", { qos: 1 });
    await until(() => (second.length >= 2 ? true : undefined), "the next message");
    expect(second).toEqual([
      { payload: "one", redelivered: true },
      { payload: "two", redelivered: false },
    ]);
    await next.stop();
    await publisher.endAsync();
  });
});
