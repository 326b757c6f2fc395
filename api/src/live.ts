/**
 * Live updates over socket.io, attached to the API's HTTP server.
 *
 * Rooms carry the scoping: a socket joins `alarm:<department>` for every
 * department where it holds alarm:read, `device:<department>` for device:read
 * (pseudonymous API tokens join `p…` rooms whose payloads carry pseudonyms for
 * recipient and device and no serial; a token without position:read there
 * joins `…nalarm:` rooms whose alarms carry no position),
 * `pos:<recipient>` only for the recipients whose live positions it watches,
 * and `user:<id>` / `session:<id>`. Grants and sessions are re-checked every
 * few seconds and at once on a `vakt_auth` NOTIFY (triggers on grants,
 * sessions, users and tokens), so a withdrawn grant stops the data within
 * seconds and a revoked session ends the socket.
 *
 * Where events come from:
 * - ingest's `vakt_events` NOTIFY (alarm raised/changed, device changed): every
 *   API process hears it and emits to its own sockets (`io.local`);
 * - changes made through this process's REST API (deps.bus): emitted through
 *   the adapter (`@socket.io/postgres-adapter`, or `@socket.io/redis-adapter`
 *   when REDIS_URL is set), so sockets on every API process receive them once;
 * - positions: each process polls the newest fix of the recipients its own
 *   sockets watch (ingest sends no NOTIFY per position), every ~1 s.
 */
import { EventEmitter } from "node:events";
import type { Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/postgres-adapter";
import { createAdapter as createRedisAdapter } from "@socket.io/redis-adapter";
import {
  type ClientToServerEvents,
  EVENTS_CHANNEL,
  LIVE_PATH,
  type LiveDeviceChanged,
  type LivePosition,
  liveAuth,
  liveWatchPositions,
  platformEvent,
  type ServerToClientEvents,
} from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { Redis } from "ioredis";
import type pg from "pg";
import { Server, type Socket } from "socket.io";
import { type Caller, logActivity } from "./activity";
import { SESSION_COOKIE } from "./auth/middleware";
import { pseudonym, sha256 } from "./auth/secrets";
import type { ApiDeps } from "./deps";
import { type Actor, allowedDepartments, holds } from "./policy";
import { loadAlarmRow, toAlarmSummary } from "./services/alarms";
import { recipientVisibleSql } from "./services/privacy/visibility";
import { isPseudonymous } from "./services/recipients";

export const AUTH_CHANNEL = "vakt_auth";

export interface LiveOptions {
  /** How often sockets' sessions and grants are re-checked (default 3 s). */
  revalidateMs?: number;
  /** How often watched recipients' positions are polled (default 1 s). */
  positionPollMs?: number;
  /** "postgres" (default): broadcasts between API processes through PostgreSQL NOTIFY. */
  adapter?: "postgres" | "memory";
  /** When set (REDIS_URL), broadcasts between API processes go through Redis pub/sub instead. */
  redisUrl?: string | undefined;
}

export interface Live {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  bus: EventEmitter;
  /** False once the LISTEN connection (ingest's alarm and device events) has failed: /api/healthz turns 503. */
  listening(): boolean;
  close(): Promise<void>;
}

interface Watch {
  mode: "all" | "list";
  requested: string[];
  recipients: Set<string>;
  startedAt: Date;
}
interface SocketData {
  actor: Actor;
  /** Session callers: the session row id; tokens: the token id. */
  credential: { kind: "session"; token: string } | { kind: "token"; secret: string };
  rooms: Set<string>;
  watch: Watch | null;
  ip: string | null;
}
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

type EndReason = "revoked" | "expired" | "logged_out" | "user_disabled" | "token_revoked";

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

/** The caller behind a socket's credential, or why there is none. */
async function resolveActor(
  deps: ApiDeps,
  credential: SocketData["credential"],
): Promise<{ actor: Actor } | { ended: EndReason }> {
  const now = deps.clock.now();
  if (credential.kind === "token") {
    const { rows } = await deps.pool.query<{
      id: string;
      organisation_id: string;
      permissions: Extract<Actor, { kind: "api_token" }>["permissions"];
      department_ids: string[] | null;
      pseudonymous: boolean;
      usable: boolean;
    }>(
      `SELECT id, organisation_id, permissions, department_ids, pseudonymous,
              (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)) AS usable
         FROM api_tokens WHERE token_sha256 = $1`,
      [sha256(credential.secret), now],
    );
    const t = rows[0];
    if (!t?.usable) return { ended: "token_revoked" };
    return {
      actor: {
        kind: "api_token",
        organisationId: t.organisation_id,
        tokenId: t.id,
        permissions: t.permissions,
        departmentIds: t.department_ids,
        pseudonymous: t.pseudonymous,
      },
    };
  }
  const { rows } = await deps.pool.query<{
    id: string;
    organisation_id: string;
    user_id: string;
    stage: string;
    expired: boolean;
    user_active: boolean;
    grants: { role: never; departmentId: string | null }[];
  }>(
    `SELECT s.id, s.organisation_id, s.user_id, s.stage,
            NOT (s.idle_expires_at > $2 AND s.absolute_expires_at > $2) AS expired,
            (u.status = 'active' AND u.access_ended_at IS NULL) AS user_active,
            coalesce((SELECT json_agg(json_build_object('role', g.role, 'departmentId', g.department_id))
                        FROM role_grants g WHERE g.organisation_id = s.organisation_id AND g.user_id = s.user_id),
                     '[]'::json) AS grants
       FROM sessions s JOIN staff_users u ON u.organisation_id = s.organisation_id AND u.id = s.user_id
      WHERE s.token_sha256 = $1`,
    [sha256(credential.token), now],
  );
  const s = rows[0];
  if (!s) return { ended: "revoked" };
  if (s.expired) return { ended: "expired" };
  if (!s.user_active) return { ended: "user_disabled" };
  if (s.stage !== "active") return { ended: "revoked" };
  return {
    actor: {
      kind: "user",
      organisationId: s.organisation_id,
      userId: s.user_id,
      sessionId: s.id,
      grants: s.grants,
    },
  };
}

const callerOf = (deps: ApiDeps, data: SocketData): Caller => ({
  actor: data.actor,
  organisationId: data.actor.organisationId,
  ip: data.ip,
  now: deps.clock.now(),
});

/** Attaches socket.io to the API's HTTP server. */
export async function attachLive(
  server: HttpServer,
  deps: ApiDeps,
  options: LiveOptions = {},
): Promise<Live> {
  const log = deps.logger.child({ component: "live" });
  const bus = deps.bus ?? new EventEmitter();
  const publicOrigin = new URL(deps.config.PUBLIC_URL).origin;
  // Redis first, so a Redis that is not there fails the start before anything is attached.
  let redis: Redis[] = [];
  if (options.redisUrl) {
    const pub = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on("error", (err) => log.warn({ err }, "redis"));
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      throw err;
    }
    redis = [pub, sub];
  }
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(
    server,
    {
      path: LIVE_PATH,
      serveClient: false,
    },
  );
  if (redis.length === 2) io.adapter(createRedisAdapter(redis[0], redis[1]));
  else if ((options.adapter ?? "postgres") === "postgres") {
    io.adapter(createAdapter(deps.pool, { errorHandler: (err) => log.warn({ err }, "adapter") }));
  }

  io.use(async (socket, next) => {
    try {
      const auth = liveAuth.safeParse(socket.handshake.auth ?? {});
      const token = auth.success ? auth.data.token : undefined;
      let credential: SocketData["credential"];
      if (token) credential = { kind: "token", secret: token.replace(/^Bearer\s+/i, "") };
      else {
        const cookie = cookieValue(socket.handshake.headers.cookie, SESSION_COOKIE);
        if (!cookie) return next(new Error("unauthenticated"));
        // A cookie is ambient: only our own pages may use it (no cross-site WebSocket hijacking).
        const origin = socket.handshake.headers.origin;
        if (origin !== undefined && origin !== publicOrigin) return next(new Error("forbidden origin"));
        credential = { kind: "session", token: cookie };
      }
      const who = await resolveActor(deps, credential);
      if ("ended" in who) return next(new Error("unauthenticated"));
      socket.data = {
        actor: who.actor,
        credential,
        rooms: new Set(),
        watch: null,
        ip: (socket.handshake.address ?? "").replace(/^::ffff:/, "") || null,
      };
      // Rooms are joined before the handshake completes: the console refetches on "connect",
      // and an alarm emitted between that refetch and a later join would reach nobody.
      await joinAllowedRooms(socket);
      next();
    } catch (err) {
      log.error({ err }, "socket authentication failed");
      next(new Error("internal"));
    }
  });

  /** Puts the socket in exactly the rooms its current grants allow. */
  /** `alarm:` real with positions; `p…` pseudonymous, `…n` without positions (a token without position:read). */
  const alarmRoomPrefix = (pseudonymous: boolean, positions: boolean) =>
    `${pseudonymous ? "p" : ""}${positions ? "" : "n"}`;

  async function syncRooms(socket: LiveSocket): Promise<void> {
    const data = socket.data;
    const who = await resolveActor(deps, data.credential);
    if ("ended" in who) {
      await endWatch(socket, who.ended);
      socket.emit("session:ended", { reason: who.ended });
      socket.disconnect(true);
      return;
    }
    data.actor = who.actor;
    await joinAllowedRooms(socket);
  }

  /** Joins and leaves rooms so that the socket is in exactly those data.actor's grants allow. */
  async function joinAllowedRooms(socket: LiveSocket): Promise<void> {
    const data = socket.data;
    const actor = data.actor;
    const pseudo = isPseudonymous(actor);
    const wanted = new Set<string>();
    if (actor.kind === "user") {
      wanted.add(`user:${actor.userId}`);
      wanted.add(`session:${actor.sessionId}`);
    }
    const positions = new Set(await allowedDepartments(deps.pool, actor, "position:read"));
    for (const d of await allowedDepartments(deps.pool, actor, "alarm:read"))
      wanted.add(`${alarmRoomPrefix(pseudo, positions.has(d))}alarm:${d}`);
    for (const d of await allowedDepartments(deps.pool, actor, "device:read"))
      wanted.add(`${pseudo ? "p" : ""}device:${d}`);
    if (data.watch) {
      const visible = await watchableRecipients(
        actor,
        data.watch.mode === "all" ? null : data.watch.requested,
      );
      data.watch.recipients = new Set(visible);
      for (const r of visible) wanted.add(`pos:${r}`);
    }
    for (const room of data.rooms) if (!wanted.has(room)) socket.leave(room);
    for (const room of wanted) if (!data.rooms.has(room)) socket.join(room);
    data.rooms = wanted;
    if (data.watch && !holds(actor, "position:read")) await endWatch(socket, "grant withdrawn");
  }

  /** Recipients whose positions the actor may see (optionally only these). */
  async function watchableRecipients(actor: Actor, only: string[] | null): Promise<string[]> {
    if (isPseudonymous(actor)) return [];
    const allowed = await allowedDepartments(deps.pool, actor, "position:read");
    if (allowed.length === 0) return [];
    const { rows } = await deps.pool.query<{ id: string }>(
      `SELECT id FROM recipients r WHERE organisation_id = $1 AND department_id = ANY($2::uuid[])
          AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[])) AND ${recipientVisibleSql("r")}`,
      [actor.organisationId, allowed, only],
    );
    return rows.map((r) => r.id);
  }

  async function endWatch(socket: LiveSocket, why: string): Promise<void> {
    const data = socket.data;
    const watch = data.watch;
    if (!watch) return;
    data.watch = null;
    for (const room of [...data.rooms]) {
      if (room.startsWith("pos:")) {
        socket.leave(room);
        data.rooms.delete(room);
      }
    }
    const now = deps.clock.now();
    await withTransaction(deps.pool, (tx) =>
      logActivity(tx, callerOf(deps, data), {
        action: "position.live_watch_ended",
        recipientIds: [...watch.recipients],
        details: {
          socketId: socket.id,
          mode: watch.mode,
          why,
          seconds: Math.round((now.getTime() - watch.startedAt.getTime()) / 1000),
        },
      }),
    ).catch((err) => log.error({ err }, "logging end of live watch failed"));
  }

  io.on("connection", (socket: LiveSocket) => {
    socket.on("watch:positions", async (request, ack) => {
      try {
        const parsed = liveWatchPositions.safeParse(request ?? {});
        if (!parsed.success) return ack?.({ ok: false, error: "invalid request" });
        const data = socket.data;
        if (!holds(data.actor, "position:read") || isPseudonymous(data.actor))
          return ack?.({ ok: false, error: "forbidden" });
        const ids = parsed.data.recipientIds;
        const mode = ids === undefined || ids === "all" ? "all" : "list";
        if (data.watch) await endWatch(socket, "replaced");
        const requested = mode === "list" ? (ids as string[]) : [];
        const visible = await watchableRecipients(data.actor, mode === "all" ? null : requested);
        const watch: Watch = { mode, requested, recipients: new Set(visible), startedAt: deps.clock.now() };
        await withTransaction(deps.pool, (tx) =>
          logActivity(tx, callerOf(deps, data), {
            action: "position.live_watch_started",
            recipientIds: visible,
            details: { socketId: socket.id, mode },
          }),
        );
        data.watch = watch;
        await positions.prime(visible);
        for (const r of visible) {
          socket.join(`pos:${r}`);
          data.rooms.add(`pos:${r}`);
        }
        ack?.({ ok: true, recipientIds: mode === "all" ? "all" : visible });
      } catch (err) {
        log.error({ err }, "watch failed");
        ack?.({ ok: false, error: "internal" });
      }
    });
    socket.on("unwatch:positions", async (ack) => {
      await endWatch(socket, "unwatched");
      ack?.({ ok: true });
    });
    socket.on("disconnect", () => {
      void endWatch(socket, "disconnected");
    });
  });

  // Re-check every local socket periodically, and at once when grants or sessions change.
  let revalidating: Promise<void> | null = null;
  const revalidateAll = () => {
    if (revalidating) return revalidating;
    revalidating = (async () => {
      const sockets = [...io.of("/").sockets.values()] as LiveSocket[];
      await Promise.all(
        sockets.map((s) => syncRooms(s).catch((err) => log.error({ err }, "revalidating socket failed"))),
      );
    })().finally(() => {
      revalidating = null;
    });
    return revalidating;
  };
  const revalidateTimer = setInterval(() => void revalidateAll(), options.revalidateMs ?? 3_000);

  // Alarms and devices announced by ingest (and the API's own NOTIFYs): to this process's sockets.
  async function emitAlarm(alarmId: string, change: string | null, local: boolean) {
    const row = await loadAlarmRow(deps.pool, alarmId);
    if (!row) return;
    const target = local ? io.local : io;
    // One room per audience, each sent the alarm as that audience may see it (services/alarms.ts).
    for (const pseudonymous of [false, true])
      for (const positions of [true, false]) {
        const summary = toAlarmSummary(deps, { pseudonymous, positions: positions || new Set() }, row);
        const room = target.to(`${alarmRoomPrefix(pseudonymous, positions)}alarm:${row.department_id}`);
        if (change === null) room.emit("alarm:new", summary);
        else room.emit("alarm:changed", { ...summary, change });
      }
    bus.emit("alarm:emitted", { alarmId, change });
  }

  async function emitDevice(deviceId: string, local: boolean) {
    const { rows } = await deps.pool.query<{
      organisation_id: string;
      department_id: string;
      recipient_id: string | null;
      online: boolean;
      battery_percent: number | null;
      charging: boolean | null;
      last_seen_at: Date | null;
      tracking_until: Date | null;
    }>(
      `SELECT organisation_id, department_id, recipient_id, online, battery_percent, charging, last_seen_at,
              tracking_until FROM devices WHERE id = $1`,
      [deviceId],
    );
    const d = rows[0];
    if (!d) return;
    const payload: LiveDeviceChanged = {
      deviceId,
      recipientId: d.recipient_id,
      departmentId: d.department_id,
      online: d.online,
      batteryPercent: d.battery_percent,
      charging: d.charging,
      lastSeenAt: d.last_seen_at?.toISOString() ?? null,
      trackingUntil: d.tracking_until?.toISOString() ?? null,
    };
    const target = local ? io.local : io;
    target.to(`device:${d.department_id}`).emit("device:changed", payload);
    target.to(`pdevice:${d.department_id}`).emit("device:changed", {
      ...payload,
      deviceId: pseudonym(deps.config.PSEUDONYM_KEY, d.organisation_id, `device:${deviceId}`),
      recipientId: d.recipient_id
        ? pseudonym(deps.config.PSEUDONYM_KEY, d.organisation_id, d.recipient_id)
        : null,
    });
  }

  const listener: pg.PoolClient = await deps.pool.connect();
  let closed = false;
  listener.on("notification", (msg) => {
    if (closed || !msg.payload) return;
    if (msg.channel === AUTH_CHANNEL) {
      void revalidateAll();
      return;
    }
    let parsed: ReturnType<typeof platformEvent.safeParse>;
    try {
      parsed = platformEvent.safeParse(JSON.parse(msg.payload));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const e = parsed.data;
    const work =
      e.kind === "alarm.raised"
        ? emitAlarm(e.alarmId, null, true)
        : e.kind === "alarm.changed"
          ? emitAlarm(e.alarmId, "changed", true)
          : emitDevice(e.deviceId, true);
    void work.catch((err) => log.error({ err, event: e }, "live fan-out failed"));
  });
  let listening = false;
  listener.on("error", (err) => {
    listening = false;
    log.error({ err }, "live listener connection failed");
  });
  listener.on("end", () => {
    listening = false;
  });
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
  await listener.query(`LISTEN ${AUTH_CHANNEL}`);
  listening = true;

  // Changes made through this process's API go to every process through the adapter.
  const onAlarm = (e: { alarmId: string; change: string }) =>
    void emitAlarm(e.alarmId, e.change, false).catch((err) => log.error({ err }, "live alarm emit failed"));
  const onAlert = (e: { userIds: string[]; alert: Parameters<ServerToClientEvents["alarm:alert"]>[0] }) => {
    if (e.userIds.length > 0) io.to(e.userIds.map((u) => `user:${u}`)).emit("alarm:alert", e.alert);
  };
  const onDevice = (e: { deviceId: string }) =>
    void emitDevice(e.deviceId, false).catch((err) => log.error({ err }, "live device emit failed"));
  bus.on("alarm", onAlarm);
  bus.on("alert", onAlert);
  bus.on("device", onDevice);

  const positions = positionPoller(deps, io, log);
  const pollTimer = setInterval(() => {
    const watched = new Set<string>();
    for (const s of io.of("/").sockets.values()) {
      const w = (s as LiveSocket).data?.watch;
      if (w) for (const r of w.recipients) watched.add(r);
    }
    void positions.poll([...watched]).catch((err) => log.error({ err }, "position poll failed"));
  }, options.positionPollMs ?? 1_000);

  return {
    io,
    bus,
    listening: () => listening,
    async close() {
      closed = true;
      clearInterval(revalidateTimer);
      clearInterval(pollTimer);
      bus.off("alarm", onAlarm);
      bus.off("alert", onAlert);
      bus.off("device", onDevice);
      const sockets = [...io.of("/").sockets.values()] as LiveSocket[];
      await Promise.all(sockets.map((s) => endWatch(s, "server stopping")));
      io.local.disconnectSockets(true);
      io.of("/").adapter.close();
      io.engine.close();
      for (const c of redis) c.disconnect();
      await listener.query(`UNLISTEN *`).catch(() => {});
      listener.release();
    },
  };
}

/** Newest fix per watched recipient, sent once per new fix to `pos:<recipient>` on this process. */
function positionPoller(
  deps: ApiDeps,
  io: Server<ClientToServerEvents, ServerToClientEvents>,
  log: ApiDeps["logger"],
) {
  const lastSent = new Map<string, number>();
  let running = false;
  return {
    /** Remember the newest fix there is now, so a new watcher gets only what comes next. */
    async prime(recipientIds: string[]) {
      const fresh = recipientIds.filter((r) => !lastSent.has(r));
      if (fresh.length === 0) return;
      const { rows } = await deps.pool.query<{ recipient_id: string; time: Date }>(
        `SELECT recipient_id, max(time) AS time FROM positions WHERE recipient_id = ANY($1::uuid[])
            AND time > now() - interval '1 day' GROUP BY recipient_id`,
        [fresh],
      );
      for (const r of fresh) lastSent.set(r, 0);
      for (const r of rows) lastSent.set(r.recipient_id, r.time.getTime());
    },
    async poll(recipientIds: string[]) {
      if (running || recipientIds.length === 0) return;
      running = true;
      try {
        await this.prime(recipientIds);
        let since = Number.POSITIVE_INFINITY;
        for (const r of recipientIds) since = Math.min(since, lastSent.get(r) ?? 0);
        const floor = Date.now() - 3_600_000;
        const { rows } = await deps.pool.query<{
          recipient_id: string;
          device_id: string;
          department_id: string;
          time: Date;
          lat: number;
          lon: number;
          accuracy_m: number | null;
          speed_mps: number | null;
          heading_deg: number | null;
          source: string;
          battery_percent: number | null;
        }>(
          `SELECT DISTINCT ON (p.recipient_id) p.recipient_id, p.device_id, r.department_id, p.time, p.lat, p.lon,
                  p.accuracy_m, p.speed_mps, p.heading_deg, p.source, p.battery_percent
             FROM positions p JOIN recipients r ON r.id = p.recipient_id
            WHERE p.recipient_id = ANY($1::uuid[]) AND p.time > $2 AND ${recipientVisibleSql("r")}
            ORDER BY p.recipient_id, p.time DESC`,
          [recipientIds, new Date(Math.max(since, floor))],
        );
        for (const p of rows) {
          if (p.time.getTime() <= (lastSent.get(p.recipient_id) ?? 0)) continue;
          lastSent.set(p.recipient_id, p.time.getTime());
          const payload: LivePosition = {
            recipientId: p.recipient_id,
            deviceId: p.device_id,
            departmentId: p.department_id,
            time: p.time.toISOString(),
            lat: p.lat,
            lon: p.lon,
            accuracyM: p.accuracy_m,
            speedMps: p.speed_mps,
            headingDeg: p.heading_deg,
            source: p.source,
            batteryPercent: p.battery_percent,
          };
          io.local.to(`pos:${p.recipient_id}`).emit("position", payload);
        }
      } catch (err) {
        log.error({ err }, "position poll failed");
      } finally {
        running = false;
      }
    },
  };
}
