/**
 * Alert routing against real PostgreSQL (graphile-worker jobs): escalation that
 * survives every process stopping, webhook retries with the same idempotency
 * key, reminders, rule selection by schedule, and pinging endpoints.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
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
import { createApp } from "../app";
import { createOutboundHttp, outboundOf, parseAllowList } from "../outbound";
import { type RunningApi, startApiServer } from "../server";
import { httpSmsGateway } from "./";

let h: Harness;
let org: TestOrg;
let receiver: Server;
let base: string;
const received: { path: string; headers: Record<string, unknown>; body: string }[] = [];
/** Paths that answer 500 this many more times. */
const failures = new Map<string, number>();

/** The receivers run on this machine: the site allows loopback explicitly (outbound.ts refuses it otherwise). */
const LOCAL_CONFIG = { ...TEST_CONFIG, OUTBOUND_ALLOW_NETWORKS: ["127.0.0.1/32"] };

beforeAll(async () => {
  h = await createHarness({ config: LOCAL_CONFIG });
  h.clock.now = new Date();
  org = await createOrg(h);
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => {
      body += b.toString();
    });
    req.on("end", () => {
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, body });
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        res.writeHead(500).end();
      } else res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
}, 30_000);
afterAll(async () => {
  await new Promise((r) => receiver.close(() => r(undefined)));
  await h.close();
});

const start = (concurrency = 2, deps: Partial<Harness["deps"]> = {}) =>
  startApiServer({
    ...h.deps,
    ...deps,
    clock: { now: () => new Date() },
    sms: httpSmsGateway(`${base}/sms`, outboundOf(h.deps)),
    port: 0,
    host: "127.0.0.1",
    live: false,
    alerting: { concurrency, pollIntervalMs: 200 },
  });

async function admin() {
  return loggedIn(
    h,
    (
      await addUser(h, org, `adm-${randomBytes(3).toString("hex")}`, [
        { role: "org_admin", departmentId: null },
      ])
    ).email,
  );
}

async function webhook(c: Awaited<ReturnType<typeof admin>>, path: string, departmentId = org.departments.a) {
  const r = await c.post("/api/v1/alert-endpoints", {
    departmentId,
    name: path,
    kind: "webhook",
    target: `${base}${path}`,
  });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** A stored alarm, claimed the way an API process does on the NOTIFY. */
async function raise(api: RunningApi, departmentId: string, type = "sos") {
  const r = await addRecipient(h, org, departmentId, "Routed");
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at)
     VALUES ($1, $2, $3, $4, $5, 'critical', 'device', $6, now()) RETURNING id`,
    [
      org.organisationId,
      departmentId,
      r.deviceId,
      r.recipientId,
      type,
      `m-${randomBytes(4).toString("hex")}`,
    ],
  );
  const alarmId = rows[0]?.id as string;
  expect(await api.alerting?.claim(alarmId)).toBe(true);
  expect(await api.alerting?.claim(alarmId)).toBe(false);
  return alarmId;
}

const hitsOf = (path: string) => received.filter((r) => r.path === path);

describe("alert routing", () => {
  it("an escalation step scheduled before every process stopped still fires after a restart", async () => {
    const c = await admin();
    const one = await webhook(c, "/restart-1");
    const two = await webhook(c, "/restart-2");
    await c.post("/api/v1/alert-rules", {
      departmentId: org.departments.b,
      name: "restart",
      steps: [
        { waitS: 2, endpointIds: [one] },
        { waitS: 60, endpointIds: [two] },
      ],
    });
    const api = await start();
    const alarmId = await raise(api, org.departments.b1);
    await until("step 1", () => hitsOf("/restart-1").length === 1);
    await api.close();
    // Step 2 comes due while nothing runs.
    await until("step 2 due", async () => {
      const r = await h.db.pool.query(
        "SELECT run_at < now() AS due FROM graphile_worker._private_jobs WHERE key = $1",
        [`alarm:${alarmId}`],
      );
      return r.rows[0]?.due === true;
    });
    expect(hitsOf("/restart-2")).toHaveLength(0);
    const again = await start();
    try {
      await until("step 2 after the restart", () => hitsOf("/restart-2").length === 1);
    } finally {
      await again.close();
    }
  }, 60_000);

  it("retries a failing webhook with backoff and the same idempotency key; records every attempt", async () => {
    const c = await admin();
    const ep = await webhook(c, "/flaky", org.departments.a);
    failures.set("/flaky", 1);
    await c.post("/api/v1/alert-rules", {
      departmentId: org.departments.a1,
      name: "flaky",
      alarmTypes: ["fall"],
      // No cancel window (a fall's default is 30 s): the subject here is retrying.
      cancelWindowS: 0,
      steps: [{ waitS: 60, endpointIds: [ep] }],
    });
    const api = await start();
    try {
      const alarmId = await raise(api, org.departments.a1, "fall");
      await until("second attempt", () => hitsOf("/flaky").length === 2, 30_000);
      const [first, second] = hitsOf("/flaky");
      expect(first?.headers["idempotency-key"]).toBe(second?.headers["idempotency-key"]);
      await until("recorded", async () => {
        const r = await h.db.pool.query(
          "SELECT count(*)::int AS n FROM alarm_deliveries WHERE alarm_id = $1",
          [alarmId],
        );
        return r.rows[0].n === 2;
      });
      const op = await loggedIn(
        h,
        (await addUser(h, org, "flakyop", [{ role: "operator", departmentId: org.departments.a }])).email,
      );
      const detail = await op.get(`/api/v1/alarms/${alarmId}`);
      expect(
        detail.body.deliveries.map((d: { result: string; attempt: number }) => [d.result, d.attempt]),
      ).toEqual([
        ["retrying", 1],
        ["sent", 2],
      ]);
      expect(detail.body.transitions.map((t: { kind: string }) => t.kind)).toContain("escalated");
    } finally {
      await api.close();
    }
  }, 60_000);

  it("reminds while nobody takes the alarm, then stops; a rule outside its schedule is passed over", async () => {
    const c = await admin();
    const ep = await webhook(c, "/remind", org.departments.a);
    const never = await webhook(c, "/never", org.departments.a);
    const now = new Date();
    // A deeper rule whose window is not now must not win.
    const notNow = (now.getUTCDay() + 3) % 7 || 7;
    await c.post("/api/v1/alert-rules", {
      departmentId: org.departments.a1,
      name: "not now",
      alarmTypes: ["no_movement"],
      schedule: [{ days: [notNow], start: "00:00", end: "01:00" }],
      steps: [{ waitS: 60, endpointIds: [never] }],
    });
    await c.post("/api/v1/alert-rules", {
      departmentId: org.departments.a,
      name: "remind",
      alarmTypes: ["no_movement"],
      steps: [{ waitS: 60, endpointIds: [ep] }],
      reminderIntervalS: 30,
      maxReminders: 1,
    });
    const api = await start();
    try {
      const alarmId = await raise(api, org.departments.a1, "no_movement");
      await until("step 1", () => hitsOf("/remind").length === 1);
      await h.db.pool.query("UPDATE graphile_worker._private_jobs SET run_at = now() WHERE key = $1", [
        `alarm:${alarmId}`,
      ]);
      await until("the reminder", () => hitsOf("/remind").length === 2);
      await until("done", async () => {
        const r = await h.db.pool.query("SELECT status FROM alarm_routing WHERE alarm_id = $1", [alarmId]);
        return r.rows[0]?.status === "done";
      });
      expect(hitsOf("/never")).toHaveLength(0);
      // Resolved and reopened: routed again from step 1.
      const op = new Client({ ...h, app: api.app });
      await op.login(
        (await addUser(h, org, "reopener", [{ role: "operator", departmentId: org.departments.a }])).email,
      );
      expect(
        (await op.post(`/api/v1/alarms/${alarmId}/resolve`, { outcome: "other", note: "n" })).status,
      ).toBe(200);
      expect((await op.post(`/api/v1/alarms/${alarmId}/reopen`, { note: "again" })).status).toBe(200);
      await until("step 1 again", () => hitsOf("/remind").length === 3);
    } finally {
      await api.close();
    }
  }, 60_000);

  it("refuses steps naming users or endpoints outside the caller's reach", async () => {
    const c = await admin();
    const deptAdmin = await loggedIn(
      h,
      (await addUser(h, org, "deptadm", [{ role: "dept_admin", departmentId: org.departments.b }])).email,
    );
    const inA = await webhook(c, "/a-only", org.departments.a);
    const bad = await deptAdmin.post("/api/v1/alert-rules", {
      departmentId: org.departments.b,
      name: "borrowing",
      steps: [{ waitS: 10, endpointIds: [inA] }],
    });
    expect(bad.status).toBe(400);
    const stranger = await deptAdmin.post("/api/v1/alert-rules", {
      departmentId: org.departments.b,
      name: "stranger",
      steps: [{ waitS: 10, users: ["00000000-0000-4000-8000-000000000000"] }],
    });
    expect(stranger.status).toBe(400);
    const outside = await deptAdmin.post("/api/v1/alert-rules", {
      departmentId: org.departments.a,
      name: "outside",
      steps: [{ waitS: 10, roles: ["operator"] }],
    });
    expect(outside.status).toBe(404);
  });

  it("pings endpoints: a signed webhook test message, SMS through the gateway, failures reported", async () => {
    const c = await admin();
    const ep = await webhook(c, "/ping");
    const ping = await c.post(`/api/v1/alert-endpoints/${ep}/ping`, {});
    expect(ping.body).toMatchObject({ ok: true, channel: "webhook" });
    const hit = hitsOf("/ping")[0];
    expect(JSON.parse(hit?.body ?? "{}").event).toBe("ping");
    expect(hit?.headers["x-vakt-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    const smsEp = await c.post("/api/v1/alert-endpoints", {
      departmentId: org.departments.a,
      name: "duty phone",
      kind: "sms",
      target: "+4798765432",
    });
    // The harness app has no SMS gateway: reported, not thrown.
    const noGateway = await c.post(`/api/v1/alert-endpoints/${smsEp.body.id}/ping`, {});
    expect(noGateway.body).toMatchObject({ ok: false, channel: "sms" });
    failures.set("/down", 99);
    const down = await webhook(c, "/down");
    expect((await c.post(`/api/v1/alert-endpoints/${down}/ping`, {})).body).toMatchObject({
      ok: false,
      detail: "HTTP 500",
    });
    const rows = await h.db.pool.query("SELECT result FROM alarm_deliveries WHERE endpoint_id = $1", [down]);
    expect(rows.rows).toEqual([{ result: "failed" }]);
    const list = await c.get("/api/v1/alert-endpoints");
    expect(list.body.find((e: { id: string }) => e.id === ep)).toMatchObject({
      kind: "webhook",
      signed: true,
    });
    expect(JSON.stringify(list.body)).not.toContain('secret":');
  });

  it("refuses at save time a webhook on a literal loopback, private or metadata address, in any spelling", async () => {
    const c = await admin();
    // Loopback 127.0.0.1 is allowed in this suite; its neighbours and the other ranges are not.
    for (const target of [
      "http://127.0.0.2/hook",
      "http://2130706434/hook",
      "http://0x7f.0.0.2/hook",
      "http://x@[::1]/hook",
      "http://[::ffff:10.0.0.1]/hook",
      "https://10.1.2.3/hook",
      "http://192.168.1.1/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://[fd00:ec2::254]/",
    ]) {
      const r = await c.post("/api/v1/alert-endpoints", {
        departmentId: org.departments.a,
        name: "inside",
        kind: "webhook",
        target,
      });
      expect(r.status, target).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(r.body.errors, target).toEqual([
        { path: "target", message: expect.stringMatching(/^refused: /) },
      ]);
    }
    const ep = await webhook(c, "/saved");
    const moved = await c.patch(`/api/v1/alert-endpoints/${ep}`, { target: "http://169.254.169.254/" });
    expect(moved.status).toBe(400);
    const { rows } = await h.db.pool.query("SELECT target FROM alert_endpoints WHERE id = $1", [ep]);
    expect(rows[0].target).toBe(`${base}/saved`);
  });

  it("refuses at send time a webhook whose name resolves inside: ping and delivery recorded refused, not retried", async () => {
    // A site without the allowlist, where the customer's name now resolves to this machine (DNS can change).
    const outbound = createOutboundHttp({ resolve: async () => ["127.0.0.1"] });
    const deps = { ...h.deps, config: TEST_CONFIG, outbound };
    const c = await admin();
    const other = new Client({ ...h, deps, app: createApp(deps) });
    other.cookies = c.cookies;
    const created = await other.post("/api/v1/alert-endpoints", {
      departmentId: org.departments.b,
      name: "customer",
      kind: "webhook",
      target: `http://hooks.customer.test:${new URL(base).port}/dns`,
    });
    expect(created.status).toBe(201);
    const ping = await other.post(`/api/v1/alert-endpoints/${created.body.id}/ping`, {});
    expect(ping.body).toMatchObject({ ok: false, channel: "webhook" });
    expect(ping.body.detail).toBe(
      "refused: hooks.customer.test resolves to 127.0.0.1, a loopback address " +
        "(a site may allow a network with OUTBOUND_ALLOW_NETWORKS)",
    );
    await other.post("/api/v1/alert-rules", {
      departmentId: org.departments.b1,
      name: "dns",
      alarmTypes: ["low_battery"],
      steps: [{ waitS: 60, endpointIds: [created.body.id] }],
    });
    const api = await start(2, { config: TEST_CONFIG, outbound });
    try {
      const alarmId = await raise(api, org.departments.b1, "low_battery");
      await until("delivery refused", async () => {
        const r = await h.db.pool.query("SELECT 1 FROM alarm_deliveries WHERE alarm_id = $1", [alarmId]);
        return (r.rowCount ?? 0) > 0;
      });
      // The job finished (graphile-worker deletes completed jobs): nothing left to retry.
      await until("no delivery job left", async () => {
        const r = await h.db.pool.query(
          `SELECT 1 FROM graphile_worker._private_jobs j
             JOIN graphile_worker._private_tasks t ON t.id = j.task_id
            WHERE t.identifier = 'deliver' AND j.payload->>'alarmId' = $1`,
          [alarmId],
        );
        return r.rowCount === 0;
      });
      const rows = await h.db.pool.query(
        "SELECT result, attempt, detail FROM alarm_deliveries WHERE alarm_id = $1 OR endpoint_id = $2 ORDER BY at",
        [alarmId, created.body.id],
      );
      expect(rows.rows.map((r) => [r.result, r.attempt])).toEqual([
        ["refused", 1],
        ["refused", 1],
      ]);
      expect(rows.rows[1].detail).toMatch(/^refused: hooks\.customer\.test resolves to 127\.0\.0\.1/);
      expect(hitsOf("/dns")).toHaveLength(0);
    } finally {
      await api.close();
    }
  }, 60_000);

  it("refuses the SMS gateway on loopback unless the site allows it", async () => {
    const smsDeps = (outbound: ReturnType<typeof createOutboundHttp>) => {
      const deps = { ...h.deps, sms: httpSmsGateway(`${base}/sms-guard`, outbound) };
      return new Client({ ...h, deps, app: createApp(deps) });
    };
    const c = await admin();
    const ep = await c.post("/api/v1/alert-endpoints", {
      departmentId: org.departments.a,
      name: "duty phone 2",
      kind: "sms",
      target: "+4798765433",
    });
    const refusedClient = smsDeps(createOutboundHttp());
    refusedClient.cookies = c.cookies;
    const refused = await refusedClient.post(`/api/v1/alert-endpoints/${ep.body.id}/ping`, {});
    expect(refused.body).toMatchObject({ ok: false, channel: "sms" });
    expect(refused.body.detail).toMatch(/^refused: 127\.0\.0\.1 is a loopback address/);
    expect(hitsOf("/sms-guard")).toHaveLength(0);
    const allowedClient = smsDeps(createOutboundHttp({ allow: parseAllowList("127.0.0.1/32") }));
    allowedClient.cookies = c.cookies;
    const sent = await allowedClient.post(`/api/v1/alert-endpoints/${ep.body.id}/ping`, {});
    expect(sent.body).toMatchObject({ ok: true, channel: "sms" });
    expect(JSON.parse(hitsOf("/sms-guard")[0]?.body ?? "{}")).toMatchObject({ to: "+4798765433" });
  });
});
