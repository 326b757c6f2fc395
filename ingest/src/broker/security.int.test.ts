/**
 * Device identity on both brokers: a device logs in with its own credentials,
 * may publish only under its own uplink and subscribe only to its own
 * downlink; a wrong password is refused. Mosquitto enforces this from the
 * generated passwd/acl files, the embedded broker from the devices table.
 * A connection is bound to its device: presenting another device's client id
 * reaches none of that device's session (Mosquitto's device listener makes
 * the client id the username; aedes refuses any client id but the serial).
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
  /** Where devices connect. */
  url: () => string;
  /** Where services connect. */
  serviceUrl: () => string;
  service: () => { username: string; password: string };
}

const brokers: BrokerCase[] = [
  {
    name: "mosquitto (generated files)",
    url: () => h.broker.deviceUrl,
    serviceUrl: () => h.broker.url,
    service: () => h.simAccount,
  },
  {
    name: "embedded (aedes)",
    url: () => embedded.url,
    serviceUrl: () => embedded.url,
    service: () => service,
  },
];

/** A device connection; the client id is the username (the serial) unless given. */
function connect(
  url: string,
  username: string,
  password: string,
  options: mqtt.IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username,
    password,
    clientId: username,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
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
    const svc = await connect(broker.serviceUrl(), broker.service().username, broker.service().password, {
      clientId: `svc-${Math.random().toString(36).slice(2)}`,
    });
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
    const svc = await connect(broker.serviceUrl(), broker.service().username, broker.service().password, {
      clientId: `svc-${Math.random().toString(36).slice(2)}`,
    });
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

  it("binds a session to its device: another device's client id reaches none of its session", async () => {
    const command = downlinkTopic(b.serial, "command");
    const svc = await connect(broker.serviceUrl(), broker.service().username, broker.service().password, {
      clientId: `svc-${Math.random().toString(36).slice(2)}`,
    });
    // B holds a persistent session with a subscription to its commands, then goes away.
    const first = await eventually(
      () => connect(broker.url(), b.serial, b.secret, { clean: false }).catch(() => undefined),
      "b login",
    );
    await first.subscribeAsync(command, { qos: 1 });
    await first.endAsync();
    await svc.publishAsync(command, "queued-for-b", { qos: 1 });

    // A logs in with its own credentials and B's client id, asking for B's session.
    const forgedReceived: string[] = [];
    let forger: MqttClient | undefined;
    try {
      forger = await connect(broker.url(), a.serial, a.secret, { clientId: b.serial, clean: false });
    } catch {
      forger = undefined; // aedes: refused outright (CONNACK 2, identifier rejected)
    }
    if (broker.name.startsWith("embedded")) expect(forger).toBeUndefined();
    if (forger) {
      // Mosquitto: admitted as A (the client id is A's username), with no session of B's.
      forger.on("message", (topic, payload) => forgedReceived.push(`${topic} ${payload}`));
      await svc.publishAsync(command, "while-a-is-on", { qos: 1 });
      await new Promise((r) => setTimeout(r, 500));
    }

    // B comes back to its session: everything queued for it is there, nothing went to A.
    const bReceived: string[] = [];
    // The handler is attached before the connection is up, since the queued command comes at once.
    const again = mqtt.connect(broker.url(), {
      username: b.serial,
      password: b.secret,
      clientId: b.serial,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    again.on("message", (topic, payload) => bReceived.push(`${topic} ${payload}`));
    await new Promise<void>((resolve, reject) => {
      again.once("connect", (packet) => {
        expect(packet.sessionPresent).toBe(true);
        resolve();
      });
      again.once("error", reject);
    });
    await eventually(
      () => (bReceived.includes(`${command} queued-for-b`) ? true : undefined),
      "b's queued command",
    );
    if (forger) {
      await eventually(
        () => (bReceived.includes(`${command} while-a-is-on`) ? true : undefined),
        "b's later command",
      );
    }
    await svc.publishAsync(command, "after", { qos: 1 });
    await eventually(() => (bReceived.includes(`${command} after`) ? true : undefined), "b's next command");
    expect(forgedReceived).toEqual([]);
    await forger?.endAsync(true);
    await again.endAsync();
    await svc.endAsync();
  });

  it("admits a device only with its own serial as client id (aedes) or as its own client (Mosquitto)", async () => {
    const own = await eventually(
      () => connect(broker.url(), a.serial, a.secret).catch(() => undefined),
      "a login",
    );
    await own.endAsync();
    const other = await connect(broker.url(), a.serial, a.secret, { clientId: `${a.serial}-x` }).catch(
      () => undefined,
    );
    if (broker.name.startsWith("embedded")) expect(other).toBeUndefined();
    await other?.endAsync(true);
  });
});
