/**
 * The shipped Mosquitto configuration must not drop QoS 1 messages it has
 * PUBACKed. A burst from 20 publishers reaches a persistent QoS 1 subscriber
 * that is away during the burst (the hardest case: everything is queued).
 * The same burst through Mosquitto's default queue limit loses most of it,
 * which shows the test can fail.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningMosquitto, startMosquitto } from "../testing/mosquitto";

const PUBLISHERS = 20;
const PER_PUBLISHER = 2_500;
const TOTAL = PUBLISHERS * PER_PUBLISHER;

let broker: RunningMosquitto | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

async function burstToAbsentSubscriber(b: RunningMosquitto): Promise<{ received: number; distinct: number }> {
  const clientId = `sub-${Math.random().toString(16).slice(2)}`;
  const subOpts = {
    clientId,
    clean: false,
    protocolVersion: 5 as const,
    properties: { sessionExpiryInterval: 3_600, receiveMaximum: 1_000 },
    reconnectPeriod: 0,
  };
  const first = await mqtt.connectAsync(b.url, subOpts);
  await first.subscribeAsync("burst/#", { qos: 1 });
  await first.endAsync();

  const publishers: MqttClient[] = await Promise.all(
    Array.from({ length: PUBLISHERS }, () =>
      mqtt.connectAsync(b.url, { protocolVersion: 5, reconnectPeriod: 0 }),
    ),
  );
  await Promise.all(
    publishers.map(async (p, i) => {
      const inflight: Promise<unknown>[] = [];
      for (let n = 0; n < PER_PUBLISHER; n++)
        inflight.push(p.publishAsync(`burst/${i}`, `${i}:${n}`, { qos: 1 }));
      await Promise.all(inflight); // every one PUBACKed by the broker
    }),
  );
  await Promise.all(publishers.map((p) => p.endAsync()));

  const seen = new Set<string>();
  let received = 0;
  const sub = mqtt.connect(b.url, subOpts);
  sub.on("message", (_t, payload) => {
    received++;
    seen.add(payload.toString());
  });
  await new Promise<void>((resolve) => sub.once("connect", () => resolve()));
  // Drained when nothing more arrives after a full round trip through the broker.
  let last = -1;
  while (last !== received) {
    last = received;
    await sub.publishAsync(`probe/${clientId}`, "x", { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
  }
  await sub.endAsync();
  return { received, distinct: seen.size };
}

describe("shipped mosquitto.conf", () => {
  it(`delivers all ${TOTAL} PUBACKed QoS 1 messages to a persistent subscriber that was away`, async () => {
    broker = await startMosquitto();
    const { distinct } = await burstToAbsentSubscriber(broker);
    expect(distinct).toBe(TOTAL);
  });

  it("(control) Mosquitto's default queue limit drops most of the same burst", async () => {
    broker = await startMosquitto({ extra: ["max_queued_messages 1000"] });
    const { distinct } = await burstToAbsentSubscriber(broker);
    expect(distinct).toBeLessThan(TOTAL / 2);
  });
});
