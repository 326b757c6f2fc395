/**
 * Device identity on both brokers: a device logs in with its own credentials,
 * may publish only under its own uplink and subscribe only to its own
 * downlink; a wrong password is refused. Mosquitto enforces this from the
 * generated passwd/acl files, the embedded broker from the devices table.
 */
import { downlinkTopic, uplinkTopic } from "@vakt/schemas";
import { freePort } from "@vakt/storage";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, makeOrganisation, type TestDevice } from "../testing/fixtures";
import { eventually, type Harness, startHarness, testLogger } from "../testing/harness";
import { type EmbeddedBroker, startEmbeddedBroker } from "./embedded";

let h: Harness;
let embedded: EmbeddedBroker;
let a: TestDevice;
let b: TestDevice;
const service = { username: "vakt-svc", password: "service-password-123" };

beforeAll(async () => {
  h = await startHarness();
  const org = await makeOrganisation(h.db.pool);
  a = await makeDevice(h.db.pool, org, { mosquittoHash: true });
  b = await makeDevice(h.db.pool, org, { mosquittoHash: true });
  await h.syncBrokerAccounts();
  embedded = await startEmbeddedBroker({
    pool: h.db.pool,
    port: await freePort(),
    host: "127.0.0.1",
    logger: testLogger,
    serviceCredentials: [service],
  });
});

afterAll(async () => {
  await embedded?.close();
  await h?.close();
});

interface BrokerCase {
  name: string;
  url: () => string;
  service: () => { username: string; password: string };
}

const brokers: BrokerCase[] = [
  { name: "mosquitto (generated files)", url: () => h.broker.url, service: () => h.simAccount },
  { name: "embedded (aedes)", url: () => embedded.url, service: () => service },
];

function connect(url: string, username: string, password: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
}

describe.each(brokers)("$name", (broker) => {
  it("admits a device with its own secret and refuses a wrong one", async () => {
    // Mosquitto reloads its files asynchronously after SIGHUP.
    const ok = await eventually(
      () => connect(broker.url(), a.serial, a.secret).catch(() => undefined),
      "login",
    );
    await ok.endAsync();
    await expect(connect(broker.url(), a.serial, `${a.secret}x`)).rejects.toThrow();
    await expect(connect(broker.url(), a.serial, b.secret)).rejects.toThrow();
    await expect(connect(broker.url(), "no-such-device", "whatever")).rejects.toThrow();
  });

  it("lets a device publish under its own uplink only", async () => {
    const svc = await connect(broker.url(), broker.service().username, broker.service().password);
    const seen: string[] = [];
    svc.on("message", (topic) => seen.push(topic));
    await svc.subscribeAsync("vakt/v1/d/+/up/#", { qos: 1 });

    const forger = await eventually(
      () => connect(broker.url(), a.serial, a.secret).catch(() => undefined),
      "login",
    );
    // Mosquitto drops a forbidden publish silently; aedes closes the connection. Either way nothing arrives.
    // (QoS 0: resolves once written, whatever the broker does with it.)
    await forger.publishAsync(uplinkTopic(b.serial, "alarm"), "forged", { qos: 0 }).catch(() => {});
    await forger.publishAsync(`vakt/v1/d/${b.serial}/down/config`, "forged", { qos: 0 }).catch(() => {});
    forger.end(true);

    const honest = await connect(broker.url(), a.serial, a.secret);
    await honest.publishAsync(uplinkTopic(a.serial, "position"), "own", { qos: 1 });
    await eventually(
      () => (seen.includes(uplinkTopic(a.serial, "position")) ? true : undefined),
      "own uplink",
    );
    expect(seen).not.toContain(uplinkTopic(b.serial, "alarm"));
    await honest.endAsync();
    await svc.endAsync();
  });

  it("lets a device subscribe to its own downlink only", async () => {
    const svc = await connect(broker.url(), broker.service().username, broker.service().password);
    const dev = await eventually(
      () => connect(broker.url(), a.serial, a.secret).catch(() => undefined),
      "login",
    );
    const received: string[] = [];
    dev.on("message", (topic) => received.push(topic));
    // A refused subscription comes back with 128 (mqtt.js rejects); Mosquitto may also grant a
    // wildcard and filter each message by the ACL. Either way the foreign message must not arrive.
    const refused = (filter: string) =>
      dev.subscribeAsync(filter, { qos: 1 }).then(
        (g) => g[0]?.qos === 128,
        () => true,
      );
    const foreign = await refused(downlinkTopic(b.serial, "ack"));
    if (broker.name.startsWith("embedded")) expect(foreign).toBe(true);
    await refused("vakt/v1/d/+/down/#");
    const own = await dev.subscribeAsync(downlinkTopic(a.serial, "ack"), { qos: 1 });
    expect(own[0]?.qos).toBe(1);
    await svc.publishAsync(downlinkTopic(b.serial, "ack"), "for b", { qos: 1 });
    await svc.publishAsync(downlinkTopic(a.serial, "ack"), "for a", { qos: 1 });
    await eventually(
      () => (received.includes(downlinkTopic(a.serial, "ack")) ? true : undefined),
      "own downlink",
    );
    expect(received).not.toContain(downlinkTopic(b.serial, "ack"));
    await dev.endAsync();
    await svc.endAsync();
  });
});
