/**
 * An alarm end to end: a device publishes SOS through a real MQTT broker to the
 * real ingest; the API's socket.io pushes it to an operator of that department
 * (not to another department's); alert routing e-mails step one (real SMTP
 * server), fires a signed webhook for step two after the wait, and once the
 * operator takes the alarm, step three sends nothing.
 */
import { createServer, type Server } from "node:http";
import { createIngest, startEmbeddedBroker } from "@vakt/ingest";
import { deviceSecretSha256, freePort, generateDeviceSecret } from "@vakt/storage";
import mqtt from "mqtt";
import { SMTPServer } from "smtp-server";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  TEST_CONFIG,
  type TestOrg,
  until,
} from "../../test/harness";
import { webhookSignature } from "../alerting";
import { mqttDeviceCommands } from "../devices/commands";
import { smtpMailer } from "../mailer";
import { outboundOf } from "../outbound";
import { type RunningApi, startApiServer } from "../server";

let h: Harness;
let org: TestOrg;
const stops: (() => Promise<unknown>)[] = [];
const mails: { to: string; body: string }[] = [];
const hooks: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
const sms: string[] = [];
let smtpPort: number;
let hookUrl: string;
let smsUrl: string;
let brokerUrl: string;
const service = { username: "svc", password: "svc-password-123" };

beforeAll(async () => {
  // The webhook receiver and SMS gateway run on this machine: allowed explicitly.
  h = await createHarness({ config: { ...TEST_CONFIG, OUTBOUND_ALLOW_NETWORKS: ["127.0.0.1/32"] } });
  // Real time throughout: the broker, ingest and worker run on the wall clock.
  h.clock.now = new Date();
  org = await createOrg(h);
  // SMTP server, webhook receiver and SMS gateway the test owns.
  smtpPort = await freePort();
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    onData(stream, session, done) {
      let body = "";
      stream.on("data", (b: Buffer) => {
        body += b.toString();
      });
      stream.on("end", () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(","), body });
        done();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(smtpPort, "127.0.0.1", () => r()));
  stops.push(() => new Promise((r) => smtp.close(() => r(undefined))));
  const receiver: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => {
      body += b.toString();
    });
    req.on("end", () => {
      if (req.url === "/sms") sms.push(body);
      else hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const port = (receiver.address() as { port: number }).port;
  hookUrl = `http://127.0.0.1:${port}/hook`;
  smsUrl = `http://127.0.0.1:${port}/sms`;
  stops.push(() => new Promise((r) => receiver.close(() => r(undefined))));
  const broker = await startEmbeddedBroker({
    pool: h.db.pool,
    port: await freePort(),
    host: "127.0.0.1",
    logger: h.deps.logger,
    serviceCredentials: [service],
  });
  brokerUrl = broker.url;
  stops.push(() => broker.close());
  const ingest = createIngest({
    pool: h.db.pool,
    databaseUrl: h.db.url,
    mqttUrl: broker.url,
    mqttUsername: service.username,
    mqttPassword: service.password,
    logger: h.deps.logger,
    protocolVersion: 4,
    sharedSubscription: false,
    http: false,
    config: { INGEST_CLIENT_ID: `ingest-${Date.now()}` },
  });
  await ingest.start();
  stops.push(() => ingest.stop());
}, 60_000);
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await h.close();
});

async function startApi(): Promise<RunningApi> {
  const commands = mqttDeviceCommands({
    mqttUrl: brokerUrl,
    transactionsLog: h.db.pool,
    username: service.username,
    password: service.password,
    logger: h.deps.logger,
  });
  stops.push(() => commands.close());
  const mailer = smtpMailer(`smtp://127.0.0.1:${smtpPort}?ignoreTLS=true`, "Vakt <vakt@test>");
  const api = await startApiServer({
    ...h.deps,
    clock: { now: () => new Date() },
    deviceCommands: commands.publisher,
    mailer,
    sms: (await import("../alerting")).httpSmsGateway(smsUrl, outboundOf(h.deps)),
    port: 0,
    host: "127.0.0.1",
    live: { revalidateMs: 500 },
    alerting: { pollIntervalMs: 200 },
  });
  return api;
}

async function socketFor(api: RunningApi, email: string): Promise<Socket> {
  const c = await loggedIn(h, email);
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const s = connect(api.url, { path: "/socket.io", transports: ["websocket"], extraHeaders: { cookie } });
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("connect_error", reject);
  });
  return s;
}

async function device(departmentId: string) {
  const secret = generateDeviceSecret();
  const r = await h.db.pool.query<{ id: string }>(
    `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis)
     VALUES ($1, $2, 'Kari', 'Nordmann', 'consent') RETURNING id`,
    [org.organisationId, departmentId],
  );
  const serial = `E2E-${Math.random().toString(36).slice(2, 10)}`;
  const d = await h.db.pool.query<{ id: string }>(
    `INSERT INTO devices (organisation_id, department_id, serial, mqtt_secret_sha256, recipient_id)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [org.organisationId, departmentId, serial, deviceSecretSha256(secret), r.rows[0]?.id],
  );
  const client = await mqtt.connectAsync(brokerUrl, {
    username: serial,
    password: secret,
    protocolVersion: 4,
    clientId: serial,
  });
  stops.push(() => client.endAsync(true));
  return { serial, client, deviceId: d.rows[0]?.id as string, recipientId: r.rows[0]?.id as string };
}

describe("an alarm from device to the right screens, routed and escalated", () => {
  it("publish → stored → socket of the department (only) → e-mail step 1 → webhook step 2 → taken → nothing more", async () => {
    const opA = await addUser(h, org, "flowA", [{ role: "operator", departmentId: org.departments.a }]);
    await h.db.pool.query("UPDATE staff_users SET phone = '+4791234567' WHERE id = $1", [opA.id]);
    const opB = await addUser(h, org, "flowB", [{ role: "operator", departmentId: org.departments.b }]);
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "flowAdmin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const endpoint = await admin.post("/api/v1/alert-endpoints", {
      departmentId: org.departments.a,
      name: "Alarm centre",
      kind: "webhook",
      target: hookUrl,
    });
    expect(endpoint.status).toBe(201);
    // A rule higher up that must be overridden by the deeper one.
    expect(
      (
        await admin.post("/api/v1/alert-rules", {
          departmentId: org.departments.a,
          name: "Generic",
          steps: [{ waitS: 1, users: [opA.id], channels: ["sms"] }],
        })
      ).status,
    ).toBe(201);
    const rule = await admin.post("/api/v1/alert-rules", {
      departmentId: org.departments.a1,
      name: "SOS in A1",
      alarmTypes: ["sos", "fall"],
      steps: [
        { waitS: 2, users: [opA.id], channels: ["email", "console"] },
        { waitS: 2, endpointIds: [endpoint.body.id] },
        { waitS: 60, users: [opA.id], channels: ["sms", "email"] },
      ],
    });
    expect(rule.status).toBe(201);

    const api = await startApi();
    stops.push(() => api.close());
    const sockA = await socketFor(api, opA.email);
    const sockB = await socketFor(api, opB.email);
    stops.push(async () => {
      sockA.close();
      sockB.close();
    });
    const gotA: { id: string; recipient: { firstName: string } }[] = [];
    const gotB: unknown[] = [];
    const alertsA: unknown[] = [];
    sockA.on("alarm:new", (a) => gotA.push(a));
    sockB.on("alarm:new", (a) => gotB.push(a));
    sockB.on("alarm:changed", (a) => gotB.push(a));
    sockA.on("alarm:alert", (a) => alertsA.push(a));
    const dev = await device(org.departments.a1);
    // Let the socket's rooms be joined (first revalidation) before the alarm.
    await until("rooms joined", () => true);
    await new Promise((r) => setTimeout(r, 300));
    const acks: { status: string; alarmId: string }[] = [];
    const commands: { command: string }[] = [];
    await dev.client.subscribeAsync(`vakt/v1/d/${dev.serial}/down/#`, { qos: 1 });
    dev.client.on("message", (topic, payload) => {
      const m = JSON.parse(payload.toString());
      if (topic.endsWith("/ack")) acks.push(m);
      if (topic.endsWith("/command")) commands.push(m);
    });
    await dev.client.publishAsync(
      `vakt/v1/d/${dev.serial}/up/alarm`,
      JSON.stringify({
        v: 1,
        id: "sos-1",
        t: Date.now(),
        type: "sos",
        fix: { t: Date.now(), lat: 59.9, lon: 10.7 },
      }),
      { qos: 1 },
    );

    await until("operator A's socket gets the alarm", () => gotA.length > 0);
    const alarmId = gotA[0]?.id as string;
    expect(gotA[0]?.recipient.firstName).toBe("Kari");
    const stored = await h.db.pool.query("SELECT state, device_message_id FROM alarms WHERE id = $1", [
      alarmId,
    ]);
    expect(stored.rows[0]).toEqual({ state: "open", device_message_id: "sos-1" });
    await until("the device hears received and track", () => acks.length > 0 && commands.length > 0);
    expect(commands[0]).toMatchObject({ command: "track" });

    await until("step 1 e-mail", () => mails.some((m) => m.to === opA.email));
    await until("console alert of step 1", () => alertsA.length > 0);
    expect(hooks).toEqual([]);
    await until("step 2 webhook", () => hooks.length > 0);
    const hook = hooks[0] as (typeof hooks)[number];
    const secret = (
      await h.db.pool.query("SELECT secret FROM alert_endpoints WHERE id = $1", [endpoint.body.id])
    ).rows[0].secret;
    const ts = hook.headers["x-vakt-timestamp"] as string;
    expect(hook.headers["x-vakt-signature"]).toBe(`sha256=${webhookSignature(secret, ts, hook.body)}`);
    expect(hook.headers["idempotency-key"]).toBe(`${alarmId}:2:${endpoint.body.id}`);
    expect(JSON.parse(hook.body).alarm.id).toBe(alarmId);

    // Through the running API (its device publisher is the MQTT one).
    const op = new Client({ ...h, app: api.app });
    await op.login(opA.email);
    expect((await op.post(`/api/v1/alarms/${alarmId}/take`, {})).status).toBe(200);
    await until("the device hears taken", () => acks.some((a) => a.status === "taken"));
    // Step 3 was due after 2 s more; it must find the alarm taken and stop.
    await h.db.pool.query("UPDATE graphile_worker._private_jobs SET run_at = now() WHERE key = $1", [
      `alarm:${alarmId}`,
    ]);
    await until("escalation stopped", async () => {
      const r = await h.db.pool.query("SELECT status FROM alarm_routing WHERE alarm_id = $1", [alarmId]);
      return r.rows[0]?.status === "stopped";
    });
    expect(sms).toEqual([]);
    expect(mails.filter((m) => m.to === opA.email)).toHaveLength(1);
    expect(hooks).toHaveLength(1);
    expect(gotB).toEqual([]);

    const detail = await op.get(`/api/v1/alarms/${alarmId}`);
    const sent = detail.body.deliveries.map(
      (d: { channel: string; result: string }) => `${d.channel}:${d.result}`,
    );
    expect(sent.sort()).toEqual(["console:sent", "email:sent", "webhook:sent"]);
  }, 90_000);
});
