/**
 * The cancel window (issue 16 item 4) against real PostgreSQL and graphile-worker:
 * routing of a fall alarm (or any type a rule gives a window) starts only when
 * the window ends; a cancel within it ends the alarm with no alerts; the window
 * is a job at run_at, so it outlives a restart of the API.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  TEST_CONFIG,
  type TestOrg,
  until,
} from "../../test/harness";
import { type RunningApi, startApiServer } from "../server";

// The alarm detail's cancelWindow (timeline rows) is derived from alarm_routing and the transitions.

let h: Harness;
let org: TestOrg;
let receiver: Server;
let base: string;
const received: { path: string; at: number }[] = [];

beforeAll(async () => {
  h = await createHarness({ config: { ...TEST_CONFIG, OUTBOUND_ALLOW_NETWORKS: ["127.0.0.1/32"] } });
  h.clock.now = new Date();
  org = await createOrg(h);
  receiver = createServer((req, res) => {
    received.push({ path: req.url ?? "/", at: Date.now() });
    req.resume();
    req.on("end", () => res.writeHead(200).end("ok"));
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
}, 30_000);
afterAll(async () => {
  await new Promise((r) => receiver.close(() => r(undefined)));
  await h.close();
});

const start = () =>
  startApiServer({
    ...h.deps,
    clock: { now: () => new Date() },
    port: 0,
    host: "127.0.0.1",
    live: false,
    alerting: { concurrency: 2, pollIntervalMs: 100 },
  });

const admin = async () =>
  loggedIn(
    h,
    (
      await addUser(h, org, `adm-${randomBytes(3).toString("hex")}`, [
        { role: "org_admin", departmentId: null },
      ])
    ).email,
  );

/** A department of its own per test, so one test's rule never routes another's alarm. */
async function department(): Promise<string> {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `WITH fresh AS (SELECT gen_random_uuid() AS id)
     INSERT INTO departments (id, organisation_id, parent_id, name, ancestry)
     SELECT fresh.id, $1, $2::uuid, $3, (SELECT ancestry FROM departments WHERE id = $2::uuid) || fresh.id
       FROM fresh RETURNING id`,
    [org.organisationId, org.departments.a, `W-${randomBytes(3).toString("hex")}`],
  );
  return rows[0]?.id as string;
}

async function ruleWithWebhook(
  c: Awaited<ReturnType<typeof admin>>,
  departmentId: string,
  path: string,
  extra: Record<string, unknown>,
) {
  const ep = await c.post("/api/v1/alert-endpoints", {
    departmentId,
    name: path,
    kind: "webhook",
    target: `${base}${path}`,
  });
  expect(ep.status).toBe(201);
  const rule = await c.post("/api/v1/alert-rules", {
    departmentId,
    name: path,
    steps: [{ waitS: 60, endpointIds: [ep.body.id] }],
    ...extra,
  });
  expect(rule.status).toBe(201);
  return rule.body;
}

/** A stored alarm raised `agoMs` ago by the device's clock, claimed as an API process does on the NOTIFY. */
async function raise(api: RunningApi, departmentId: string, type: string, agoMs = 0) {
  const r = await addRecipient(h, org, departmentId, "Faller");
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at)
     VALUES ($1, $2, $3, $4, $5, 'critical', 'device', $6, now() - $7 * interval '1 millisecond') RETURNING id`,
    [
      org.organisationId,
      departmentId,
      r.deviceId,
      r.recipientId,
      type,
      `m-${randomBytes(4).toString("hex")}`,
      agoMs,
    ],
  );
  const alarmId = rows[0]?.id as string;
  expect(await api.alerting?.claim(alarmId)).toBe(true);
  return alarmId;
}

const jobOf = async (alarmId: string) =>
  (
    await h.db.pool.query<{ run_at: Date }>(
      "SELECT run_at FROM graphile_worker._private_jobs WHERE key = $1",
      [`alarm:${alarmId}`],
    )
  ).rows[0];
const routingOf = async (alarmId: string) =>
  (
    await h.db.pool.query<{ status: string; cancel_until: Date | null }>(
      "SELECT status, cancel_until FROM alarm_routing WHERE alarm_id = $1",
      [alarmId],
    )
  ).rows[0];
const deliveriesOf = async (alarmId: string) =>
  (await h.db.pool.query("SELECT * FROM alarm_deliveries WHERE alarm_id = $1", [alarmId])).rows;
/** Makes the window's job due now: the test need not wait out the window to see what it does. */
const expireWindow = (alarmId: string) =>
  h.db.pool.query("UPDATE graphile_worker._private_jobs SET run_at = now() WHERE key = $1", [
    `alarm:${alarmId}`,
  ]);

describe("cancel window", () => {
  it("a fall alarm is not routed in its default 30 s window; cancelled by staff in it, nobody is alerted", async () => {
    const c = await admin();
    const dept = await department();
    const rule = await ruleWithWebhook(c, dept, "/fall-cancelled", { alarmTypes: ["fall"] });
    expect(rule.cancelWindowS).toBeNull();
    const api = await start();
    try {
      const alarmId = await raise(api, dept, "fall");
      const routing = await routingOf(alarmId);
      const job = await jobOf(alarmId);
      expect(routing?.cancel_until).not.toBeNull();
      expect(job?.run_at.getTime()).toBe(routing?.cancel_until?.getTime());
      const detail = await c.get(`/api/v1/alarms/${alarmId}`);
      expect(detail.body.cancelWindowUntil).toBe(routing?.cancel_until?.toISOString());
      // The window is 30 s from the wearer's fall.
      const raised = Date.parse(detail.body.raisedAt);
      expect(Date.parse(detail.body.cancelWindowUntil) - raised).toBe(30_000);
      const cancelled = await c.post(`/api/v1/alarms/${alarmId}/cancel`, { note: "got up by herself" });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.cancelWindowUntil).toBeNull();
      await expireWindow(alarmId);
      await until("the window's job ran", async () => (await routingOf(alarmId))?.status === "stopped");
      expect(await deliveriesOf(alarmId)).toEqual([]);
      expect(received.filter((r) => r.path === "/fall-cancelled")).toEqual([]);
    } finally {
      await api.close();
    }
  }, 60_000);

  it("routing starts when the window passes, not before; an SOS under a rule without a window routes at once", async () => {
    const c = await admin();
    const dept = await department();
    await ruleWithWebhook(c, dept, "/fall-routed", { alarmTypes: ["fall"], cancelWindowS: 2 });
    await ruleWithWebhook(c, dept, "/sos-routed", { alarmTypes: ["sos"] });
    const api = await start();
    try {
      const sos = await raise(api, dept, "sos");
      expect((await routingOf(sos))?.cancel_until).toBeNull();
      const fall = await raise(api, dept, "fall");
      const windowEnd = (await routingOf(fall))?.cancel_until as Date;
      await until("the SOS is routed", () => received.some((r) => r.path === "/sos-routed"));
      await until("the fall is routed after its window", () =>
        received.some((r) => r.path === "/fall-routed"),
      );
      const hit = received.find((r) => r.path === "/fall-routed");
      expect(hit?.at).toBeGreaterThanOrEqual(windowEnd.getTime());
      // The receiver answers before the delivery's outcome is committed: wait for the row, then check it is the one.
      await until("the fall's delivery is recorded", async () =>
        (await deliveriesOf(fall)).some((d) => d.result === "sent"),
      );
      expect((await deliveriesOf(fall)).map((d) => d.result)).toEqual(["sent"]);
    } finally {
      await api.close();
    }
  }, 60_000);

  it("the window survives a restart of the API: alerts go out after it, from the next process", async () => {
    const c = await admin();
    const dept = await department();
    await ruleWithWebhook(c, dept, "/fall-restart", { alarmTypes: ["fall"], cancelWindowS: 2 });
    const api = await start();
    const alarmId = await raise(api, dept, "fall");
    await api.close();
    await until("the window ended while nothing ran", async () => {
      const r = await h.db.pool.query<{ due: boolean }>(
        "SELECT run_at < now() AS due FROM graphile_worker._private_jobs WHERE key = $1",
        [`alarm:${alarmId}`],
      );
      return r.rows[0]?.due === true;
    });
    expect(received.filter((r) => r.path === "/fall-restart")).toEqual([]);
    const again = await start();
    try {
      await until("routed by the next process", () => received.some((r) => r.path === "/fall-restart"));
    } finally {
      await again.close();
    }
  }, 60_000);

  it("over window lengths, device clocks and cancel times: the first step runs at the window's end, and a cancel in it sends nothing", async () => {
    const c = await admin();
    const dept = await department();
    const api = await start();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 600 }),
          // How long ago the device says it raised the alarm; negative: a device clock ahead of ours.
          fc.integer({ min: -3_600_000, max: 700_000 }),
          fc.boolean(),
          async (windowS, agoMs, cancel) => {
            await h.db.pool.query("DELETE FROM alert_rules WHERE department_id = $1", [dept]);
            const path = `/prop-${randomBytes(4).toString("hex")}`;
            await ruleWithWebhook(c, dept, path, { alarmTypes: ["no_movement"], cancelWindowS: windowS });
            const before = Date.now();
            const alarmId = await raise(api, dept, "no_movement", agoMs);
            const after = Date.now();
            const routing = await routingOf(alarmId);
            const raised = (
              await h.db.pool.query<{ raised_at: Date }>("SELECT raised_at FROM alarms WHERE id = $1", [
                alarmId,
              ])
            ).rows[0]?.raised_at.getTime() as number;
            const end = routing?.cancel_until?.getTime();
            if (end !== undefined) {
              // Never later than the claim plus the window, whatever the device's clock says.
              expect(end).toBeLessThanOrEqual(after + windowS * 1000);
              if (raised <= before) expect(end).toBe(raised + windowS * 1000);
              expect((await jobOf(alarmId))?.run_at.getTime()).toBe(end);
            } else {
              // No window: none set, or it had passed when the alarm reached us.
              expect(windowS === 0 || raised + windowS * 1000 <= after).toBe(true);
            }
            // A cancel well inside the window (one at its very end races the job, as it would for real).
            if (cancel && end !== undefined && end > Date.now() + 5_000) {
              const r = await c.post(`/api/v1/alarms/${alarmId}/cancel`, {});
              expect(r.status).toBe(200);
              await expireWindow(alarmId);
              await until("stopped", async () => (await routingOf(alarmId))?.status === "stopped");
              expect(await deliveriesOf(alarmId)).toEqual([]);
            } else {
              await expireWindow(alarmId);
              await until("routed", async () =>
                (await deliveriesOf(alarmId)).some((d) => d.result === "sent"),
              );
            }
          },
        ),
        { numRuns: 12 },
      );
    } finally {
      await api.close();
    }
  }, 120_000);

  it("the timeline shows the window: opened with nobody alerted, then ended by routing, a cancel on the device or by staff, or a take", async () => {
    const key = `Vindu${randomBytes(2).toString("hex")}`;
    const me = await addUser(h, org, key, [{ role: "org_admin", departmentId: null }]);
    const c = await loggedIn(h, me.email);
    const name = `Test ${key}`;
    const dept = await department();
    await ruleWithWebhook(c, dept, "/fall-timeline", { alarmTypes: ["fall"] });
    await ruleWithWebhook(c, dept, "/sos-timeline", { alarmTypes: ["sos"] });
    const api = await start();
    const windowOf = async (alarmId: string) => (await c.get(`/api/v1/alarms/${alarmId}`)).body.cancelWindow;
    try {
      // Still running: the opening row only, 30 s (the default for a fall), at the claim.
      const running = await raise(api, dept, "fall");
      const claimed = (
        await h.db.pool.query<{ claimed_at: Date; cancel_until: Date }>(
          "SELECT claimed_at, cancel_until FROM alarm_routing WHERE alarm_id = $1",
          [running],
        )
      ).rows[0];
      expect(await windowOf(running)).toEqual({
        openedAt: claimed?.claimed_at.toISOString(),
        seconds: 30,
        endsAt: claimed?.cancel_until.toISOString(),
        ended: null,
      });

      // Cancelled by staff in the window: ended by them, by name.
      const byStaff = await raise(api, dept, "fall");
      const cancelled = await c.post(`/api/v1/alarms/${byStaff}/cancel`, { note: "stood up" });
      const cancelAt = (await c.get(`/api/v1/alarms/${byStaff}`)).body.transitions.find(
        (t: { kind: string }) => t.kind === "cancelled",
      ).at;
      expect(cancelled.status).toBe(200);
      expect((await windowOf(byStaff)).ended).toEqual({
        at: cancelAt,
        how: "cancelled",
        actor: { type: "user", id: me.id, name },
      });

      // Cancelled on the device, as ingest records it: no staff name.
      const onDevice = await raise(api, dept, "fall");
      await h.db.pool.query(
        "UPDATE alarms SET state = 'cancelled', closed_at = now(), outcome = 'false_alarm' WHERE id = $1",
        [onDevice],
      );
      await h.db.pool.query(
        `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, from_state, to_state, details)
         VALUES ($1, $2, 'cancelled', 'open', 'cancelled', '{"source":"device","messageId":"x"}')`,
        [org.organisationId, onDevice],
      );
      const device = await windowOf(onDevice);
      expect(device.ended).toMatchObject({ how: "cancelled_on_device", actor: null });
      expect(device.seconds).toBe(30);

      // Taken in the window: ended by the take.
      const taken = await raise(api, dept, "fall");
      expect((await c.post(`/api/v1/alarms/${taken}/take`, {})).status).toBe(200);
      expect((await windowOf(taken)).ended).toMatchObject({ how: "taken", actor: { name } });

      // Ran out (raised 28.5 s ago by the device's clock): routing started at its end, and a later cancel is after it.
      const ranOut = await raise(api, dept, "fall", 28_500);
      await until("routed after the window", async () =>
        (await deliveriesOf(ranOut)).some((d) => d.result === "sent"),
      );
      // The API's clock (the harness's, set once) moves on past the window, as a real one does.
      h.clock.now = new Date();
      await c.post(`/api/v1/alarms/${ranOut}/cancel`, {});
      const out = await windowOf(ranOut);
      expect(out.seconds).toBe(30);
      expect(out.ended).toEqual({ at: out.endsAt, how: "routed", actor: null });
      const firstDelivery = (await c.get(`/api/v1/alarms/${ranOut}`)).body.deliveries[0];
      expect(Date.parse(firstDelivery.at)).toBeGreaterThanOrEqual(Date.parse(out.endsAt));

      // No window: no rows.
      const sos = await raise(api, dept, "sos");
      expect(await windowOf(sos)).toBeNull();
    } finally {
      await api.close();
    }
  }, 60_000);

  it("the rule's window is validated: 0 to 600 s, or null for the default", async () => {
    const c = await admin();
    const dept = await department();
    for (const bad of [-1, 601, 1.5, "30"]) {
      const r = await c.post("/api/v1/alert-rules", {
        departmentId: dept,
        name: "bad window",
        steps: [{ waitS: 60, roles: ["operator"] }],
        cancelWindowS: bad,
      });
      expect(r.status).toBe(400);
    }
    const ok = await c.post("/api/v1/alert-rules", {
      departmentId: dept,
      name: "window",
      steps: [{ waitS: 60, roles: ["operator"] }],
      cancelWindowS: 45,
    });
    expect(ok.body.cancelWindowS).toBe(45);
    const patched = await c.patch(`/api/v1/alert-rules/${ok.body.id}`, { cancelWindowS: null });
    expect(patched.body.cancelWindowS).toBeNull();
  });
});
