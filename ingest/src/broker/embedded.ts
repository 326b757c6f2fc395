/**
 * The embedded MQTT broker (aedes) for `npm start`: device credentials are
 * checked against the devices table (username = serial, SHA-256 of the
 * secret), and a device may publish only under its own uplink topics and
 * subscribe only to its own downlink. Service accounts (ingest, api) may use
 * every topic. aedes speaks MQTT 3.1.1 and has no `$share`: ingest connects
 * to it with `protocolVersion: 4, sharedSubscription: false`.
 *
 * A device's connection is bound to its credentials: its client id must be
 * its own serial, exactly (CONNACK 2, identifier rejected, otherwise), so no
 * device can take over another's persistent session, its queued downlink or
 * its subscriptions. Not a prefix: serials may contain `-`, so `<serial>-x`
 * could be another device's serial. Serials beginning with `vakt-` are
 * reserved for the service accounts' client ids and are refused.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:net";
import { Readable } from "node:stream";
import { owntracksCommandTopic, parseOwntracksTopic, TOPIC_ROOT } from "@vakt/schemas";
import { verifyDeviceSecret } from "@vakt/storage";
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from "aedes";
import type pg from "pg";
import type { Logger } from "pino";
import { SERVICE_CLIENT_ID_PREFIX } from "./mosquitto-files";
import { BROKER_LOG_TOPIC } from "./presence";

export interface ServiceCredential {
  username: string;
  password: string;
}

export interface EmbeddedBrokerOptions {
  pool: pg.Pool;
  port: number;
  host?: string;
  logger: Logger;
  serviceCredentials: ServiceCredential[];
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Identity = { kind: "service"; username: string } | { kind: "device"; serial: string };

const identities = new WeakMap<Client, Identity>();

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

function refused(code: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

/** May a device with this serial connect with this client id? Only its own serial, exactly. */
export function deviceClientIdAllowed(serial: string, clientId: string): boolean {
  return clientId === serial && !serial.toLowerCase().startsWith(SERVICE_CLIENT_ID_PREFIX);
}

/**
 * May `serial` publish to `topic`? Its own uplink, or its own OwnTracks topic
 * (`owntracks/<user>/<serial>`) and the subtopics the apps publish below it.
 */
export function devicePublishAllowed(serial: string, topic: string): boolean {
  if (topic.includes("+") || topic.includes("#")) return false;
  if (topic.startsWith(`${TOPIC_ROOT}/${serial}/up/`)) return true;
  return parseOwntracksTopic(topic)?.device === serial;
}

/**
 * May `serial` subscribe to `filter`? Filters inside its own downlink, and its own OwnTracks command
 * topic (`owntracks/<user>/<serial>/cmd`, any one user segment or `+`): nothing of another device.
 */
export function deviceSubscribeAllowed(serial: string, filter: string): boolean {
  if (filter.startsWith(`${TOPIC_ROOT}/${serial}/down/`)) return true;
  const parts = filter.split("/");
  if (parts.length !== 4 || parts[0] !== "owntracks") return false;
  const user = parts[1] ?? "";
  if (user === "" || user.includes("#") || (user.includes("+") && user !== "+")) return false;
  return filter === owntracksCommandTopic(user, serial);
}

/**
 * Logins: a service account (constant-time compare), or a device by its serial and secret
 * (SHA-256 in the devices table, retired and OsmAnd devices refused), whose client id must be
 * its serial. What each client is goes into `identities` for the ACL checks.
 */
function authenticator(
  options: EmbeddedBrokerOptions,
  log: Logger,
): NonNullable<AedesOptions["authenticate"]> {
  return (client, username, password, done) => {
    const secret = password?.toString("utf8") ?? "";
    if (!username) return done(refused(4, "username required"), false);
    const service = options.serviceCredentials.find((s) => s.username === username);
    if (service) {
      if (!sameSecret(secret, service.password)) return done(refused(4, "bad credentials"), false);
      identities.set(client, { kind: "service", username });
      return done(null, true);
    }
    options.pool
      .query<{ sha: string | null }>(
        `SELECT mqtt_secret_sha256 AS sha FROM devices
          WHERE serial = $1 AND retired_at IS NULL AND protocol IN ('mqtt', 'owntracks')`,
        [username],
      )
      .then(({ rows }) => {
        if (!verifyDeviceSecret(secret, rows[0]?.sha)) {
          log.info({ username, clientId: client.id }, "mqtt login refused");
          return done(refused(4, "bad credentials"), false);
        }
        // Checked after the secret, so a wrong client id tells nothing about the password.
        if (!deviceClientIdAllowed(username, client.id)) {
          log.warn(
            { username, clientId: client.id },
            "mqtt login refused: client id is not the device's serial",
          );
          return done(refused(2, "client id must be the device's serial"), false);
        }
        identities.set(client, { kind: "device", serial: username });
        done(null, true);
      })
      .catch((err: unknown) => {
        log.error({ err }, "device credential look-up failed");
        done(refused(5, "authentication unavailable"), false);
      });
  };
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = options.logger.child({ component: "mqtt-broker" });
  const broker = await Aedes.createBroker({
    authenticate: authenticator(options, log),
    authorizePublish: (client, packet, callback) => {
      if (!client) return callback(null);
      const id = identities.get(client);
      if (id?.kind === "service") return callback(null);
      if (id?.kind === "device" && devicePublishAllowed(id.serial, packet.topic)) return callback(null);
      log.warn({ clientId: client.id, topic: packet.topic }, "mqtt publish refused");
      callback(new Error("publish not authorised"));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const id = identities.get(client);
      if (id?.kind === "service") return callback(null, subscription);
      if (id?.kind === "device" && deviceSubscribeAllowed(id.serial, subscription.topic)) {
        return callback(null, subscription);
      }
      log.warn({ clientId: client.id, topic: subscription.topic }, "mqtt subscribe refused");
      callback(null, null);
    },
  });
  const beforeConnect = [reportPresence(broker), markRedeliveries(broker)];
  // The one wrapper of preConnect: each hook sees the connection before aedes parses its CONNECT
  // further and restores the session (the hooks say why they must be that early).
  const preConnect = broker.preConnect.bind(broker);
  broker.preConnect = (client, packet, callback) => {
    for (const hook of beforeConnect) hook(client);
    preConnect(client, packet, callback);
  };
  // A connection the broker drops is a change of state worth one line (the client id says whose).
  broker.on("clientError", (client, err) =>
    log.warn({ clientId: client.id, err: err.message }, "mqtt client error"),
  );
  broker.on("connectionError", (client, err) =>
    log.warn({ clientId: client.id, err: err.message }, "mqtt connection error"),
  );
  const server: Server = createServer(broker.handle);
  const host = options.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info({ port }, "embedded mqtt broker listening");
  return {
    url: `mqtt://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A resumed session's queue, made safe to resend (aedes 1.2 with its in-memory persistence):
 * - aedes resends unacknowledged messages without DUP (MQTT-3.3.1-1 asks for it); ingest counts
 *   redeliveries by DUP, so a message that kills ingest each time would come back for ever;
 * - it resends them under their old packet identifiers while numbering new deliveries from 1 again,
 *   so a PUBACK for a new message cleared an old one still waiting to be resent ("no such packet",
 *   the connection dropped, the message lost: 318 of 80,000 in the hostile lab).
 * - a message queued for the session just before it resumed is sent twice, by the resend (its
 *   snapshot of the queue holds it) and live (the restored subscription delivers it); each copy was
 *   a message to ingest, so its dead letter was stored twice (12 of 20,000 in one CI run).
 * Every queued message that was sent before is marked DUP and loses its old identifier before the
 * resend starts (the queue holds the stored objects themselves), so it is resent under a new one.
 * Each connection claims a message (by the broker's id and counter) the first time either path is
 * about to send it, and the other path then leaves it alone, so it is sent once per connection.
 * An update of a message already acknowledged still lets the send go on instead of failing the
 * connection.
 */
function markRedeliveries(broker: Aedes): (client: Client) => void {
  type Queued = { messageId?: number; dup?: boolean; brokerId?: string | null; brokerCounter?: number };
  type Deliver = (packet: Queued & { qos?: number }, cb: () => void) => void;
  const claimed = new WeakMap<Client, Set<string>>();
  /** True when this connection had not sent the message yet (and now claims it). */
  const claim = (client: Client, packet: Queued): boolean => {
    if (!packet.brokerId || packet.brokerCounter === undefined) return true; // retained: never deduped
    const sent = claimed.get(client) ?? new Set<string>();
    claimed.set(client, sent);
    const key = `${packet.brokerId}:${packet.brokerCounter}`;
    if (sent.has(key)) return false;
    sent.add(key);
    return true;
  };
  // Before the session's subscriptions are restored, since each captures deliverQoS as it is then.
  const claimLiveDeliveries = (client: Client) => {
    const live = client as unknown as { deliverQoS: Deliver };
    const deliver = live.deliverQoS;
    live.deliverQoS = (p, cb) => {
      if ((p.qos ?? 0) > 0 && !client.clean && !claim(client, p)) return void setImmediate(cb);
      deliver(p, cb);
    };
  };
  const persistence = (
    broker as unknown as {
      persistence: {
        outgoingStream(client: Client): Readable;
        outgoingUpdate(client: Client, packet: Queued): Promise<void>;
      };
    }
  ).persistence;
  const update = persistence.outgoingUpdate.bind(persistence);
  persistence.outgoingUpdate = (client, packet) =>
    update(client, packet).catch((err: unknown) => {
      if (err instanceof Error && err.message === "no such packet") return;
      throw err;
    });
  const stream = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) =>
    Readable.from(
      (async function* () {
        const queued = (await stream(client).toArray()) as Queued[];
        for (const p of queued) {
          if (p.messageId === undefined) continue;
          p.dup = true;
          p.messageId = undefined;
        }
        // Claimed as each is taken for sending: one the live path sent meanwhile is left out.
        for (const p of queued) if (claim(client, p)) yield p;
      })(),
    );
  return claimLiveDeliveries;
}

/**
 * The connection log ingest reads on Mosquitto (`$SYS/broker/log/N`, broker/presence.ts), in
 * Mosquitto's words, for devices only: so a device that drops without a last will is offline at
 * once on this broker too.
 */
function reportPresence(broker: Aedes): (client: Client) => void {
  // Marked as the DISCONNECT is parsed: aedes sets its own flag only when the packet is handled, and
  // the socket's end, just behind it, may close the client first (then aedes even sends the will).
  const saidDisconnect = new WeakSet<Client>();
  const watchForDisconnect = (client: Client) => {
    const parser = (
      client as unknown as { _parser?: { on(e: "packet", f: (p: { cmd: string }) => void): void } }
    )._parser;
    parser?.on("packet", (p) => {
      if (p.cmd === "disconnect") saidDisconnect.add(client);
    });
  };
  const say = (line: string) =>
    broker.publish(
      {
        cmd: "publish",
        topic: BROKER_LOG_TOPIC,
        payload: Buffer.from(`${Math.floor(Date.now() / 1000)}: ${line}`),
        qos: 0,
        dup: false,
        retain: false,
      },
      () => {},
    );
  broker.on("client", (client) => {
    if (identities.get(client)?.kind === "device")
      say(`New client connected from aedes as ${client.id} (p4).`);
  });
  broker.on("clientDisconnect", (client) => {
    if (identities.get(client)?.kind !== "device") return;
    // A DISCONNECT packet, as Mosquitto tells "disconnected" (the device chose to go) from "closed its
    // connection" (a drop, which presence.ts counts).
    const clean =
      saidDisconnect.has(client) || (client as unknown as { _disconnected?: boolean })._disconnected === true;
    say(clean ? `Client ${client.id} disconnected.` : `Client ${client.id} closed its connection.`);
  });
  return watchForDisconnect;
}
