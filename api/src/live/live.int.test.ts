/**
 * socket.io live updates: scoping by department, two API processes joined by
 * the Postgres adapter, grants withdrawn and sessions revoked while connected,
 * live position watching (logged at start and end), API-token sockets.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { AlarmSummary, LivePosition } from "@vakt/schemas";
import { freePort } from "@vakt/storage";
import pg from "pg";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  until as pollUntil,
  type TestOrg,
} from "../../test/harness";
import { type RunningApi, startApiServer } from "../server";

/** Sockets here answer fast: poll often, give up sooner than the harness default. */
const until = (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) =>
  pollUntil(what, check, ms, 25);

let h: Harness;
let org: TestOrg;
let api1: RunningApi;
let api2: RunningApi;
const sockets: Socket[] = [];

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = new Date();
  org = await createOrg(h);
  const start = () =>
    startApiServer({
      ...h.deps,
      clock: { now: () => new Date() },
      port: 0,
      host: "127.0.0.1",
      live: { revalidateMs: 1_000, positionPollMs: 200 },
      alerting: { concurrency: 0 },
    });
  api1 = await start();
  api2 = await start();
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await api1?.close();
  await api2?.close();
  await h.close();
});

async function open(api: RunningApi, auth: { cookie?: string; token?: string }): Promise<Socket> {
  const s = connect(api.url, {
    path: "/socket.io",
    transports: ["websocket"],
    reconnection: false,
    ...(auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
    ...(auth.token ? { auth: { token: auth.token } } : {}),
  });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("connect_error", reject);
  });
  return s;
}
const cookieOf = (c: Client) => [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; ");

/** Waits until the server side of a socket is in (or out of) a room. */
async function roomState(api: RunningApi, socket: Socket, room: string, inside: boolean) {
  await until(`${socket.id} ${inside ? "in" : "out of"} ${room}`, async () => {
    const all = await api.live?.io.local.fetchSockets();
    const s = all?.find((x) => x.id === socket.id);
    return s !== undefined && s.rooms.has(room) === inside;
  });
}

/** An alarm stored and announced the way ingest does it. */
async function raise(departmentId: string) {
  return announce(departmentId, await addRecipient(h, org, departmentId, "Live"));
}

async function announce(
  departmentId: string,
  r: { recipientId: string; deviceId: string },
  type = "sos",
  db: Pick<pg.Pool, "query"> = h.db.pool,
) {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at)
     VALUES ($1, $2, $3, $4, $6, 'critical', 'device', $5, now()) RETURNING id`,
    [
      org.organisationId,
      departmentId,
      r.deviceId,
      r.recipientId,
      `m-${randomBytes(4).toString("hex")}`,
      type,
    ],
  );
  const alarmId = rows[0]?.id as string;
  await db.query("SELECT pg_notify('vakt_events', $1)", [
    JSON.stringify({
      kind: "alarm.raised",
      alarmId,
      organisationId: org.organisationId,
      departmentId,
      recipientId: r.recipientId,
      deviceId: r.deviceId,
    }),
  ]);
  return { alarmId, ...r };
}

describe("live updates", () => {
  it("two API processes: an ingest NOTIFY reaches sockets on both once; a take on one reaches the other", async () => {
    const op = await addUser(h, org, "two", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, op.email);
    const s1 = await open(api1, { cookie: cookieOf(c) });
    const s2 = await open(api2, { cookie: cookieOf(c) });
    await roomState(api1, s1, `alarm:${org.departments.a1}`, true);
    await roomState(api2, s2, `alarm:${org.departments.a1}`, true);
    const new1: AlarmSummary[] = [];
    const new2: AlarmSummary[] = [];
    const changed2: (AlarmSummary & { change: string })[] = [];
    s1.on("alarm:new", (a) => new1.push(a));
    s2.on("alarm:new", (a) => new2.push(a));
    s2.on("alarm:changed", (a) => changed2.push(a));
    const a = await raise(org.departments.a1);
    await until("both sockets get the new alarm", () => new1.length > 0 && new2.length > 0);
    // The take goes through process 1; the socket on process 2 hears it through the adapter.
    const viaApi1 = new Client({ ...h, app: api1.app });
    await viaApi1.login(op.email);
    expect((await viaApi1.post(`/api/v1/alarms/${a.alarmId}/take`, {})).status).toBe(200);
    await until("process 2's socket gets the change", () => changed2.length > 0);
    expect(changed2[0]).toMatchObject({ id: a.alarmId, state: "acknowledged", change: "acknowledged" });
    expect(new1.map((x) => x.id)).toEqual([a.alarmId]);
    expect(new2.map((x) => x.id)).toEqual([a.alarmId]);
    expect(changed2).toHaveLength(1);
  });

  it("is in its rooms when the client sees connect: an alarm raised at that instant arrives", async () => {
    // The console refetches alarms on "connect"; anything raised after that refetch must come live.
    const op = await addUser(h, org, "instant", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, op.email);
    const r = await addRecipient(h, org, org.departments.a1, "Instant");
    for (let i = 0; i < 5; i++) {
      const s = await open(api1, { cookie: cookieOf(c) });
      const got: string[] = [];
      s.on("alarm:new", (a) => got.push(a.id));
      const { alarmId } = await announce(org.departments.a1, r);
      await until(`alarm ${alarmId} on a socket raised at connect (round ${i})`, () => got.includes(alarmId));
      s.close();
    }
  });

  it("a withdrawn grant stops the alarms within seconds; another department never gets them", async () => {
    const keep = await addUser(h, org, "keep", [{ role: "operator", departmentId: org.departments.a }]);
    const lose = await addUser(h, org, "lose", [{ role: "operator", departmentId: org.departments.a }]);
    const other = await addUser(h, org, "other", [{ role: "operator", departmentId: org.departments.b }]);
    const sKeep = await open(api1, { cookie: cookieOf(await loggedIn(h, keep.email)) });
    const sLose = await open(api1, { cookie: cookieOf(await loggedIn(h, lose.email)) });
    const sOther = await open(api2, { cookie: cookieOf(await loggedIn(h, other.email)) });
    await roomState(api1, sLose, `alarm:${org.departments.a1}`, true);
    await roomState(api2, sOther, `alarm:${org.departments.b1}`, true);
    const got = { keep: [] as string[], lose: [] as string[], other: [] as string[] };
    sKeep.on("alarm:new", (a) => got.keep.push(a.id));
    sLose.on("alarm:new", (a) => got.lose.push(a.id));
    sOther.on("alarm:new", (a) => got.other.push(a.id));
    const first = await raise(org.departments.a1);
    await until(
      "both operators of A get the first alarm",
      () => got.keep.length === 1 && got.lose.length === 1,
    );

    await h.db.pool.query("DELETE FROM role_grants WHERE user_id = $1", [lose.id]);
    await roomState(api1, sLose, `alarm:${org.departments.a1}`, false);
    const second = await raise(org.departments.a1);
    const inB = await raise(org.departments.b1);
    await until("the kept operator and B get theirs", () => got.keep.length === 2 && got.other.length === 1);
    expect(got.keep).toEqual([first.alarmId, second.alarmId]);
    expect(got.lose).toEqual([first.alarmId]);
    expect(got.other).toEqual([inB.alarmId]);
  });

  it("device online/battery changes reach only sockets that may see the device", async () => {
    const inA = await addUser(h, org, "devA", [{ role: "operator", departmentId: org.departments.a }]);
    const inB = await addUser(h, org, "devB", [{ role: "operator", departmentId: org.departments.b }]);
    const sA = await open(api1, { cookie: cookieOf(await loggedIn(h, inA.email)) });
    const sB = await open(api2, { cookie: cookieOf(await loggedIn(h, inB.email)) });
    await roomState(api1, sA, `device:${org.departments.a1}`, true);
    await roomState(api2, sB, `device:${org.departments.b1}`, true);
    const gotA: { deviceId: string; online: boolean; batteryPercent: number | null }[] = [];
    const gotB: { deviceId: string }[] = [];
    sA.on("device:changed", (d) => gotA.push(d));
    sB.on("device:changed", (d) => gotB.push(d));
    const notify = async (departmentId: string) => {
      const r = await addRecipient(h, org, departmentId, "Dev");
      await h.db.pool.query("UPDATE devices SET online = true, battery_percent = 17 WHERE id = $1", [
        r.deviceId,
      ]);
      await h.db.pool.query("SELECT pg_notify('vakt_events', $1)", [
        JSON.stringify({
          kind: "device.changed",
          organisationId: org.organisationId,
          departmentId,
          recipientId: r.recipientId,
          deviceId: r.deviceId,
        }),
      ]);
      return r.deviceId;
    };
    const devA = await notify(org.departments.a1);
    const devB = await notify(org.departments.b1);
    await until("both changes delivered", () => gotA.length === 1 && gotB.length === 1);
    expect(gotA).toEqual([expect.objectContaining({ deviceId: devA, online: true, batteryPercent: 17 })]);
    expect(gotB.map((d) => d.deviceId)).toEqual([devB]);
  });

  it("a revoked session ends the socket", async () => {
    const u = await addUser(h, org, "revoked", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, u.email);
    const s = await open(api1, { cookie: cookieOf(c) });
    const ended: unknown[] = [];
    s.on("session:ended", (e) => ended.push(e));
    expect((await c.post("/api/v1/auth/logout", {})).status).toBe(200);
    await until("session:ended and disconnect", () => ended.length > 0 && !s.connected);
    expect(ended).toEqual([{ reason: "revoked" }]);
    // And a new socket with the old cookie is refused.
    await expect(open(api1, { cookie: cookieOf(c) })).rejects.toThrow();
  });

  it("watching live positions: only visible recipients, one activity row at start and one at end", async () => {
    const u = await addUser(h, org, "watcher", [{ role: "operator", departmentId: org.departments.a }]);
    const mine = await addRecipient(h, org, org.departments.a1, "Seen");
    const notMine = await addRecipient(h, org, org.departments.b1, "Unseen");
    // Restricted processing (GDPR art. 18): in the operator's department, yet never watched.
    const restricted = await addRecipient(h, org, org.departments.a1, "Restricted");
    await h.db.pool.query("UPDATE recipients SET restricted_at = now() WHERE id = $1", [
      restricted.recipientId,
    ]);
    const s = await open(api1, { cookie: cookieOf(await loggedIn(h, u.email)) });
    const positions: LivePosition[] = [];
    s.on("position", (p) => positions.push(p));
    const ack = await s.emitWithAck("watch:positions", {
      recipientIds: [mine.recipientId, notMine.recipientId, restricted.recipientId],
    });
    expect(ack).toEqual({ ok: true, recipientIds: [mine.recipientId] });
    const insert = (r: { recipientId: string; deviceId: string }, t: Date) =>
      h.db.pool.query(
        `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, source)
         VALUES ($1, $2, $3, $4, $5, 59.9, 10.7, 'gps')`,
        [t, r.deviceId, org.organisationId, r.recipientId, `p-${t.getTime()}`],
      );
    const t0 = Date.now();
    for (let i = 1; i <= 3; i++) {
      await insert(mine, new Date(t0 + i * 1000));
      await insert(notMine, new Date(t0 + i * 1000));
      await insert(restricted, new Date(t0 + i * 1000));
      const want = i;
      await until(`fix ${i}`, () => positions.length === want);
    }
    expect(new Set(positions.map((p) => p.recipientId))).toEqual(new Set([mine.recipientId]));
    expect(await s.emitWithAck("unwatch:positions")).toEqual({ ok: true });
    const log = await h.db.pool.query<{ action: string; recipient_ids: string[] }>(
      "SELECT action, recipient_ids FROM activity_log WHERE actor_id = $1 AND action LIKE 'position.live%' ORDER BY seq",
      [u.id],
    );
    expect(log.rows).toEqual([
      { action: "position.live_watch_started", recipient_ids: [mine.recipientId] },
      { action: "position.live_watch_ended", recipient_ids: [mine.recipientId] },
    ]);
  });

  it("an API token socket gets its departments' alarms, pseudonymised, and may not watch positions", async () => {
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "tokadmin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const t = await admin.post("/api/v1/tokens", {
      name: "live",
      permissions: ["alarm:read", "position:read"],
      departmentIds: [org.departments.a],
      pseudonymous: true,
    });
    expect(t.status).toBe(201);
    const s = await open(api2, { token: t.body.secret });
    await roomState(api2, s, `palarm:${org.departments.a1}`, true);
    const got: AlarmSummary[] = [];
    s.on("alarm:new", (a) => got.push(a));
    expect(await s.emitWithAck("watch:positions", {})).toEqual({ ok: false, error: "forbidden" });
    const a = await raise(org.departments.a1);
    await until("token socket gets the alarm", () => got.length > 0);
    expect(got[0]?.recipient).toMatchObject({ firstName: null, lastName: null });
    expect(got[0]?.recipient?.id).not.toBe(a.recipientId);
    await expect(open(api2, { token: "vakt_tok_wrong" })).rejects.toThrow();
  });
});

describe("live updates to API tokens (issue 15)", () => {
  it("a pseudonymous token's socket never carries a real recipient id, device id or serial; a token without position:read gets no positions", async () => {
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "tokadmin2", [{ role: "org_admin", departmentId: null }])).email,
    );
    const token = async (permissions: string[], pseudonymous: boolean) => {
      const t = await admin.post("/api/v1/tokens", {
        name: `live ${permissions.length} ${pseudonymous}`,
        permissions,
        departmentIds: [org.departments.b],
        pseudonymous,
      });
      expect(t.status).toBe(201);
      return t.body.secret as string;
    };
    const pseudo = await open(api1, {
      token: await token(["alarm:read", "device:read", "position:read"], true),
    });
    const blind = await open(api2, { token: await token(["alarm:read"], false) });
    await roomState(api1, pseudo, `palarm:${org.departments.b1}`, true);
    await roomState(api1, pseudo, `pdevice:${org.departments.b1}`, true);
    await roomState(api2, blind, `nalarm:${org.departments.b1}`, true);
    const seen: unknown[] = [];
    const blindAlarms: AlarmSummary[] = [];
    pseudo.onAny((event, payload) => seen.push({ event, payload }));
    blind.on("alarm:new", (a) => blindAlarms.push(a));

    const r = await addRecipient(h, org, org.departments.b1, "Pseudo");
    const { rows } = await h.db.pool.query<{ id: string }>(
      `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                           device_message_id, raised_at, lat, lon)
       VALUES ($1, $2, $3, $4, 'sos', 'critical', 'device', $5, now(), 59.91, 10.75) RETURNING id`,
      [
        org.organisationId,
        org.departments.b1,
        r.deviceId,
        r.recipientId,
        `m-${randomBytes(4).toString("hex")}`,
      ],
    );
    const event = { organisationId: org.organisationId, departmentId: org.departments.b1, ...r };
    await h.db.pool.query("SELECT pg_notify('vakt_events', $1)", [
      JSON.stringify({ kind: "alarm.raised", alarmId: rows[0]?.id, ...event }),
    ]);
    await h.db.pool.query("SELECT pg_notify('vakt_events', $1)", [
      JSON.stringify({ kind: "device.changed", ...event }),
    ]);
    const events = () => new Set(seen.map((e) => (e as { event: string }).event));
    await until(
      "pseudonymous socket gets the alarm and the device",
      () => events().has("alarm:new") && events().has("device:changed"),
    );
    await until("position-blind socket gets the alarm", () => blindAlarms.length === 1);
    const { serial } = (
      await h.db.pool.query<{ serial: string }>("SELECT serial FROM devices WHERE id = $1", [r.deviceId])
    ).rows[0] as { serial: string };
    const text = JSON.stringify(seen);
    for (const real of [r.recipientId, r.deviceId, serial]) expect(text).not.toContain(real);
    expect(seen).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: "alarm:new" }),
        expect.objectContaining({ event: "device:changed" }),
      ]),
    );
    // The pseudonymous token holds position:read: it sees where; the other token does not.
    const pseudoAlarm = (
      seen.find((e) => (e as { event: string }).event === "alarm:new") as { payload: AlarmSummary }
    ).payload;
    expect(pseudoAlarm.position).toMatchObject({ lat: 59.91, lon: 10.75 });
    expect(pseudoAlarm.device.serial).toBeNull();
    expect(blindAlarms[0]?.position).toBeNull();
    expect(blindAlarms[0]?.recipient?.id).toBe(r.recipientId);
  });
});

describe("the alarm path (issue 20)", () => {
  /** A department of its own under A, so its rule routes no other test's alarm. */
  async function department(): Promise<string> {
    const { rows } = await h.db.pool.query<{ id: string }>(
      `WITH fresh AS (SELECT gen_random_uuid() AS id)
       INSERT INTO departments (id, organisation_id, parent_id, name, ancestry)
       SELECT fresh.id, $1, $2::uuid, $3, (SELECT ancestry FROM departments WHERE id = $2::uuid) || fresh.id
         FROM fresh RETURNING id`,
      [org.organisationId, org.departments.a, `P-${randomBytes(3).toString("hex")}`],
    );
    return rows[0]?.id as string;
  }

  it("a fall's first push carries its cancel window and tracking: routing was committed before any console heard of it", async () => {
    const dept = await department();
    await h.db.pool.query(
      `INSERT INTO alert_rules (organisation_id, department_id, name, alarm_types, steps, cancel_window_s)
       VALUES ($1, $2, 'Falls', ARRAY['fall'], $3, 45)`,
      [
        org.organisationId,
        dept,
        JSON.stringify([{ waitS: 60, users: [], roles: [], channels: [], endpointIds: [] }]),
      ],
    );
    const op = await addUser(h, org, "window", [{ role: "operator", departmentId: org.departments.a }]);
    const s = await open(api1, { cookie: cookieOf(await loggedIn(h, op.email)) });
    await roomState(api1, s, `alarm:${dept}`, true);
    const got: AlarmSummary[] = [];
    const changed: (AlarmSummary & { change: string })[] = [];
    s.on("alarm:new", (a) => got.push(a));
    s.on("alarm:changed", (a) => changed.push(a));
    const a = await announce(dept, await addRecipient(h, org, dept, "Window"), "fall");
    await until("the fall reaches the socket", () => got.length > 0);
    const routing = await h.db.pool.query<{ cancel_until: Date; status: string }>(
      "SELECT cancel_until, status FROM alarm_routing WHERE alarm_id = $1",
      [a.alarmId],
    );
    const device = await h.db.pool.query<{ tracking_until: Date }>(
      "SELECT tracking_until FROM devices WHERE id = $1",
      [a.deviceId],
    );
    expect(routing.rows[0]?.status).toBe("active");
    expect(got[0]?.id).toBe(a.alarmId);
    expect(got[0]?.cancelWindowUntil).toBe(routing.rows[0]?.cancel_until.toISOString());
    expect(Date.parse(got[0]?.cancelWindowUntil ?? "") - Date.parse(got[0]?.raisedAt ?? "")).toBe(45_000);
    expect(got[0]?.device.trackingUntil).toBe(device.rows[0]?.tracking_until.toISOString());
    // Both processes heard the NOTIFY; one claimed it, and the socket heard of it once.
    await until("the window's change", () => changed.some((c) => c.change === "cancel_window"));
    expect(got).toHaveLength(1);
  });

  it("an alarm reaches the console while every connection of the shared pool is held", async () => {
    const op = await addUser(h, org, "exhausted", [{ role: "operator", departmentId: org.departments.a }]);
    const s = await open(api1, { cookie: cookieOf(await loggedIn(h, op.email)) });
    await roomState(api1, s, `alarm:${org.departments.a1}`, true);
    const r = await addRecipient(h, org, org.departments.a1, "Exhausted");
    const got: AlarmSummary[] = [];
    s.on("alarm:new", (a) => got.push(a));
    // As many takers as the pool has connections: the free ones are held, the rest queue first.
    const pool = h.db.pool;
    const grabs = Array.from({ length: pool.options.max ?? 10 }, () => pool.connect());
    const own = new pg.Client({ connectionString: h.db.url });
    try {
      await until("the shared pool exhausted", () => pool.waitingCount > 0);
      await own.connect();
      const a = await announce(org.departments.a1, r, "sos", own);
      await until("the alarm reaches the socket", () => got.some((x) => x.id === a.alarmId));
      expect(pool.waitingCount).toBeGreaterThan(0);
    } finally {
      for (const g of grabs) void g.then((c) => c.release()).catch(() => {});
      await own.end();
    }
  });

  it("a burst of one device's changes is one push; a later device's change comes after it", async () => {
    const op = await addUser(h, org, "burst", [{ role: "operator", departmentId: org.departments.a }]);
    const s = await open(api1, { cookie: cookieOf(await loggedIn(h, op.email)) });
    await roomState(api1, s, `device:${org.departments.a1}`, true);
    const busy = await addRecipient(h, org, org.departments.a1, "Busy");
    const later = await addRecipient(h, org, org.departments.a1, "Later");
    const got: { deviceId: string; batteryPercent: number | null }[] = [];
    s.on("device:changed", (d) => got.push(d));
    const event = (r: { recipientId: string; deviceId: string }, n: number) =>
      JSON.stringify({
        kind: "device.changed",
        organisationId: org.organisationId,
        departmentId: org.departments.a1,
        recipientId: r.recipientId,
        deviceId: r.deviceId,
        // Distinct payloads: PostgreSQL folds identical ones in one transaction into one.
        n,
      });
    await h.db.pool.query("UPDATE devices SET battery_percent = 42 WHERE id = $1", [busy.deviceId]);
    // Twenty NOTIFYs for one device in one commit, as ingest's batch writer can send them.
    await h.db.pool.query("SELECT pg_notify('vakt_events', e) FROM unnest($1::text[]) e", [
      Array.from({ length: 20 }, (_, i) => event(busy, i)),
    ]);
    await h.db.pool.query("SELECT pg_notify('vakt_events', $1)", [event(later, 0)]);
    await until("the later device's change", () => got.some((d) => d.deviceId === later.deviceId));
    const ofBusy = got.filter((d) => d.deviceId === busy.deviceId);
    expect(ofBusy.length).toBeGreaterThanOrEqual(1);
    expect(ofBusy.length).toBeLessThanOrEqual(2);
    expect(ofBusy.at(-1)?.batteryPercent).toBe(42);
  });
});

describe("live updates through Redis (REDIS_URL)", () => {
  it("a change made through one API process reaches a socket on another through Redis", async () => {
    const port = await freePort();
    const redis = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    const apis: RunningApi[] = [];
    // Its own pool: the two servers above hold most of the harness pool's connections.
    const pool = new pg.Pool({ connectionString: h.db.url, max: 6 });
    try {
      const redisUrl = `redis://127.0.0.1:${port}`;
      await until("redis-server listening", async () => {
        const { createConnection } = await import("node:net");
        return new Promise<boolean>((resolve) => {
          const c = createConnection(port, "127.0.0.1");
          c.once("connect", () => {
            c.end();
            resolve(true);
          });
          c.once("error", () => resolve(false));
        });
      });
      for (let i = 0; i < 2; i++) {
        apis.push(
          await startApiServer({
            ...h.deps,
            pool,
            clock: { now: () => new Date() },
            port: 0,
            host: "127.0.0.1",
            live: { revalidateMs: 1_000, redisUrl },
            alerting: { concurrency: 0 },
          }),
        );
      }
      const [one, two] = apis as [RunningApi, RunningApi];
      const op = await addUser(h, org, "redis", [{ role: "operator", departmentId: org.departments.a }]);
      const s = await open(two, { cookie: cookieOf(await loggedIn(h, op.email)) });
      await roomState(two, s, `alarm:${org.departments.a1}`, true);
      const changed: string[] = [];
      s.on("alarm:changed", (a) => changed.push(a.id));
      const a = await raise(org.departments.a1);
      const viaOne = new Client({ ...h, app: one.app });
      await viaOne.login(op.email);
      expect((await viaOne.post(`/api/v1/alarms/${a.alarmId}/comments`, { note: "on my way" })).status).toBe(
        200,
      );
      await until("the change through Redis", () => changed.length > 0);
      expect(changed).toEqual([a.alarmId]);
    } finally {
      for (const api of apis) await api.close();
      await pool.end();
      redis.kill();
    }
  });
});

describe("live updates after an erasure", () => {
  it("sends nothing more about an erased recipient, and their device's next alarm carries no person", async () => {
    const u = await addUser(h, org, "eraseWatcher", [{ role: "operator", departmentId: org.departments.a }]);
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "eraser", [{ role: "org_admin", departmentId: null }])).email,
    );
    const gone = await addRecipient(h, org, org.departments.a1, "Gone");
    const other = await addRecipient(h, org, org.departments.a1, "Stays");
    const s = await open(api2, { cookie: cookieOf(await loggedIn(h, u.email)) });
    const positions: LivePosition[] = [];
    const alarms: AlarmSummary[] = [];
    const raw: unknown[] = [];
    s.onAny((_event, payload) => raw.push(payload));
    s.on("position", (p) => positions.push(p));
    s.on("alarm:new", (a) => alarms.push(a));
    await s.emitWithAck("watch:positions", { recipientIds: [gone.recipientId, other.recipientId] });
    const fix = (deviceId: string, recipientId: string | null, t: Date) =>
      h.db.pool.query(
        `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, source)
         VALUES ($1, $2, $3, $4, $5, 59.9, 10.7, 'gps')`,
        [t, deviceId, org.organisationId, recipientId, `e-${t.getTime()}-${deviceId.slice(0, 4)}`],
      );
    const t0 = Date.now();
    await fix(gone.deviceId, gone.recipientId, new Date(t0 + 1_000));
    await until("the watched recipient's fix", () =>
      positions.some((p) => p.recipientId === gone.recipientId),
    );

    const erased = await admin.post(`/api/v1/privacy/recipients/${gone.recipientId}/erasure`, {
      reason: "service ended, erasure requested",
    });
    expect(erased.status).toBe(200);
    const before = positions.length;
    const rawBefore = raw.length;
    // The device keeps reporting (now assigned to nobody) and raises an alarm; the other recipient moves on.
    await fix(gone.deviceId, null, new Date(t0 + 2_000));
    // A batch written with a stale device cache still names the erased id: it must go nowhere.
    await fix(gone.deviceId, gone.recipientId, new Date(t0 + 2_500));
    await fix(other.deviceId, other.recipientId, new Date(t0 + 2_000));
    await until("the other recipient's later fix", () =>
      positions.slice(before).some((p) => p.recipientId === other.recipientId),
    );
    expect(positions.slice(before).map((p) => p.recipientId)).toEqual([other.recipientId]);

    const { rows } = await h.db.pool.query<{ id: string }>(
      `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                           device_message_id, raised_at)
       VALUES ($1, $2, $3, NULL, 'sos', 'critical', 'device', $4, now()) RETURNING id`,
      [org.organisationId, org.departments.a1, gone.deviceId, `m-${randomBytes(4).toString("hex")}`],
    );
    await h.db.pool.query("SELECT pg_notify('vakt_events', $1)", [
      JSON.stringify({
        kind: "alarm.raised",
        alarmId: rows[0]?.id,
        organisationId: org.organisationId,
        departmentId: org.departments.a1,
        recipientId: null,
        deviceId: gone.deviceId,
      }),
    ]);
    await until("the device's alarm", () => alarms.some((a) => a.id === rows[0]?.id));
    expect(alarms.find((a) => a.id === rows[0]?.id)?.recipient).toBeNull();
    // Nothing the socket received after the erasure names the person or carries their id.
    const after = JSON.stringify(raw.slice(rawBefore));
    expect(after).not.toContain(gone.recipientId);
    expect(after).not.toContain("Gone");
  });
});
