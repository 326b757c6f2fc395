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
 *   API process hears it on its one LISTEN connection (which alert routing
 *   shares) and emits to its own sockets (`io.local`); a new alarm from alert
 *   routing's claim (one statement on the alarm pool), device changes
 *   coalesced per batch (fan-out.ts, coalesce.ts);
 * - changes made through this process's REST API (deps.bus): emitted through
 *   the adapter (`@socket.io/postgres-adapter`, or `@socket.io/redis-adapter`
 *   when REDIS_URL is set), so sockets on every API process receive them once;
 * - positions: each process polls the newest fix of the recipients its own
 *   sockets watch (ingest sends no NOTIFY per position), every ~1 s.
 *
 * The parts: handshake.ts (who a socket is), rooms.ts (which rooms its grants allow, re-checked),
 * watch.ts (position watches and their log rows), fan-out.ts (alarms and devices to rooms),
 * positions.ts (the poller), events.ts (the LISTEN connection). This file wires them together.
 */
import type { Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/postgres-adapter";
import { createAdapter as createRedisAdapter } from "@socket.io/redis-adapter";
import { LIVE_PATH, type PlatformEvent } from "@vakt/schemas";
import { Redis } from "ioredis";
import type pg from "pg";
import { Server } from "socket.io";
import type { AlarmRow } from "../alarms/service";
import { type Bus, createBus } from "../bus";
import type { ApiDeps } from "../deps";
import { listenForEvents } from "./events";
import { liveFanOut } from "./fan-out";
import { authenticateSockets } from "./handshake";
import { positionPoller } from "./positions";
import { type LiveRooms, liveRooms } from "./rooms";
import type { LiveServer, LiveSocket } from "./types";
import { handleWatches } from "./watch";

export { AUTH_CHANNEL } from "./events";

export interface LiveOptions {
  /** How often sockets' sessions and grants are re-checked (default 3 s). */
  revalidateMs?: number;
  /** How often watched recipients' positions are polled (default 1 s). */
  positionPollMs?: number;
  /** "postgres" (default): broadcasts between API processes through PostgreSQL NOTIFY. */
  adapter?: "postgres" | "memory";
  /** When set (REDIS_URL), broadcasts between API processes go through Redis pub/sub instead. */
  redisUrl?: string | undefined;
  /**
   * A new alarm is pushed from what this returns: alert routing's claim, so the push carries the
   * cancel window (a fall pushed before it would sound in the console while nobody may be woken)
   * and a console taking it at once finds it routed. Undefined: the alarm is read (alarmDb).
   */
  newAlarm?: (alarmId: string) => Promise<AlarmRow | undefined>;
  /** Where alarm rows are read for pushes: the alarm path's own pool; default: deps.pool. */
  alarmDb?: pg.Pool;
}

export interface Live {
  io: LiveServer;
  bus: Bus;
  /** False once the LISTEN connection (ingest's alarm and device events) has failed: /api/healthz turns 503. */
  listening(): boolean;
  /**
   * The platform events this process's LISTEN connection hears, for alert routing: one connection
   * (one backend woken per NOTIFY) for both. Returns the unsubscribe.
   */
  onEvent(listener: (e: PlatformEvent) => void): () => void;
  close(): Promise<void>;
}

/** Redis first, so a Redis that is not there fails the start before anything is attached. */
async function connectRedis(url: string | undefined, log: ApiDeps["logger"]): Promise<Redis[]> {
  if (!url) return [];
  const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (err) => log.warn({ err }, "redis"));
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (err) {
    pub.disconnect();
    sub.disconnect();
    throw err;
  }
  return [pub, sub];
}

/** Re-checks every local socket's rooms; callers while a run is going share it. */
function revalidator(localSockets: () => LiveSocket[], rooms: LiveRooms, log: ApiDeps["logger"]) {
  let revalidating: Promise<void> | null = null;
  return () => {
    if (revalidating) return revalidating;
    revalidating = (async () => {
      await Promise.all(
        localSockets().map((s) =>
          rooms.syncRooms(s).catch((err) => log.error({ err }, "revalidating socket failed")),
        ),
      );
    })().finally(() => {
      revalidating = null;
    });
    return revalidating;
  };
}

/** Who else hears the LISTEN connection's platform events (alert routing). */
function eventListeners() {
  const listeners = new Set<(e: PlatformEvent) => void>();
  return {
    dispatch(e: PlatformEvent) {
      for (const l of listeners) l(e);
    },
    on(l: (e: PlatformEvent) => void) {
      // A wrapper per subscription, so the same function subscribed twice needs two unsubscribes.
      const entry = (e: PlatformEvent) => l(e);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
  };
}

/** Attaches socket.io to the API's HTTP server. */
export async function attachLive(
  server: HttpServer,
  deps: ApiDeps,
  options: LiveOptions = {},
): Promise<Live> {
  const log = deps.logger.child({ component: "live" });
  const bus = deps.bus ?? createBus();
  const redis = await connectRedis(options.redisUrl, log);
  const io: LiveServer = new Server(server, { path: LIVE_PATH, serveClient: false });
  if (redis.length === 2) io.adapter(createRedisAdapter(redis[0], redis[1]));
  else if ((options.adapter ?? "postgres") === "postgres") {
    io.adapter(createAdapter(deps.pool, { errorHandler: (err) => log.warn({ err }, "adapter") }));
  }
  const rooms = liveRooms(deps, log);
  const positions = positionPoller(deps, io, log);
  authenticateSockets(io, deps, rooms, log);
  handleWatches(io, deps, rooms, positions, log);
  const localSockets = () => [...io.of("/").sockets.values()] as LiveSocket[];

  // Re-check every local socket periodically, and at once when grants or sessions change.
  const revalidateAll = revalidator(localSockets, rooms, log);
  const revalidateTimer = setInterval(() => void revalidateAll(), options.revalidateMs ?? 3_000);

  // Alarms and devices announced by ingest (and the API's own NOTIFYs): to this process's sockets.
  const fanOut = liveFanOut(io, deps, bus, {
    alarmDb: options.alarmDb ?? deps.pool,
    ...(options.newAlarm ? { newAlarm: options.newAlarm } : {}),
  });
  let closed = false;
  const heard = eventListeners();
  const listener = await listenForEvents(deps, log, {
    auth: () => {
      if (!closed) void revalidateAll();
    },
    event: (e) => {
      if (closed) return;
      fanOut.fromDatabase(e, log);
      heard.dispatch(e);
    },
  });

  const offBus = fanOut.fromBus(log);

  const pollTimer = setInterval(() => {
    const watched = new Set<string>();
    for (const s of localSockets()) {
      const w = s.data?.watch;
      if (w) for (const r of w.recipients) watched.add(r);
    }
    void positions.poll([...watched]).catch((err) => log.error({ err }, "position poll failed"));
  }, options.positionPollMs ?? 1_000);

  return {
    io,
    bus,
    listening: listener.listening,
    onEvent: heard.on,
    async close() {
      closed = true;
      clearInterval(revalidateTimer);
      clearInterval(pollTimer);
      offBus();
      await Promise.all(localSockets().map((s) => rooms.endWatch(s, "server stopping")));
      io.local.disconnectSockets(true);
      io.of("/").adapter.close();
      io.engine.close();
      for (const c of redis) c.disconnect();
      await listener.close();
    },
  };
}
