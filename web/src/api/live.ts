/**
 * The one socket module: a socket.io connection on the same origin (the session
 * cookie authenticates it), every event parsed with the shared schemas, and the
 * connection state for the status line. Reconnects on its own; subscribers are
 * told on every (re)connect so they can catch up with what they missed.
 */
import {
  type ClientToServerEvents,
  LIVE_PATH,
  type LiveAlarmAlert,
  liveAlarmAlert,
  liveAlarmChanged,
  liveAlarmNew,
  liveDeviceChanged,
  livePosition,
  liveSessionEnded,
  liveWatchResult,
  type ServerToClientEvents,
} from "@vakt/schemas";
import { io, type Socket } from "socket.io-client";
import type { z } from "zod";

export type LiveStatus = "connecting" | "connected" | "disconnected";

export interface LiveHandlers {
  /** `change` is the transition that caused an `alarm:changed` (null for a new alarm). */
  alarm?(alarm: z.infer<typeof liveAlarmNew>, isNew: boolean, change: string | null): void;
  /** Alert routing asks this user (a step or a reminder). */
  alert?(alert: LiveAlarmAlert): void;
  position?(p: z.infer<typeof livePosition>): void;
  device?(d: z.infer<typeof liveDeviceChanged>): void;
  sessionEnded?(info: z.infer<typeof liveSessionEnded>): void;
  /** After every connect and reconnect: refetch what may have been missed. */
  connected?(reconnect: boolean): void;
  /** A position watch (re)started after the tab was hidden: refetch the positions missed meanwhile. */
  watchResumed?(): void;
  status?(s: LiveStatus): void;
}

let socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
const subscribers = new Set<LiveHandlers>();
let status: LiveStatus = "connecting";
let everConnected = false;

function each(f: (h: LiveHandlers) => void) {
  for (const h of subscribers) f(h);
}

function setStatus(s: LiveStatus) {
  status = s;
  each((h) => h.status?.(s));
}

function parsed<S extends z.ZodType>(schema: S, f: (v: z.infer<S>) => void) {
  return (raw: unknown) => {
    const r = schema.safeParse(raw);
    if (r.success) f(r.data);
    else console.warn("live event refused", r.error.issues);
  };
}

/**
 * Live positions are watched only while a screen that shows them is mounted
 * (the live map, the recipient page) and the tab is visible: every watch is
 * logged as a view of those recipients, so a hidden tab or an administration
 * screen must not hold one.
 */
export type WatchRequest = readonly string[] | "all";
const watchRequests = new Set<{ ids: WatchRequest }>();
/** What the server was last asked for: a key, or null when nothing is watched. */
let watching: string | null = null;

function wanted(): WatchRequest | null {
  if (watchRequests.size === 0 || document.visibilityState === "hidden") return null;
  const ids = new Set<string>();
  for (const r of watchRequests) {
    if (r.ids === "all") return "all";
    for (const id of r.ids) ids.add(id);
  }
  return ids.size > 0 ? [...ids].sort() : null;
}

/** `force`: a new connection (nothing watched on the server); `shown`: the tab became visible. */
function syncWatch(force = false, shown = false) {
  if (!socket?.connected) return;
  const w = wanted();
  const key = w === null ? null : w === "all" ? "all" : w.join(",");
  if (key === watching && !force) return;
  const resumed = watching === null && key !== null;
  watching = key;
  if (w === null) {
    if (!force) socket.emit("unwatch:positions");
    return;
  }
  socket.emit("watch:positions", { recipientIds: w === "all" ? "all" : [...w] }, (result) => {
    const r = liveWatchResult.safeParse(result);
    if (r.success && !r.data.ok) console.warn("watch:positions refused", r.data.error);
  });
  if (resumed && shown) each((h) => h.watchResumed?.());
}

/** Watches live positions of these recipients (or all the user may see) until the returned function is called. */
export function watchPositions(ids: WatchRequest): () => void {
  const request = { ids };
  watchRequests.add(request);
  syncWatch();
  return () => {
    watchRequests.delete(request);
    syncWatch();
  };
}

if (typeof document !== "undefined")
  document.addEventListener("visibilitychange", () => syncWatch(false, true));

/** Opens the connection (once per login). */
export function connectLive() {
  if (socket) return;
  everConnected = false;
  const s: Socket<ServerToClientEvents, ClientToServerEvents> = io({
    path: LIVE_PATH,
    withCredentials: true,
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    // A connection attempt that opens and closes without a handshake is given up after this, then retried.
    timeout: 5000,
  });
  socket = s;
  setStatus("connecting");
  s.on("connect", () => {
    const reconnect = everConnected;
    everConnected = true;
    setStatus("connected");
    // A new connection has no watch on the server; connected() below refetches what was missed.
    watching = null;
    syncWatch(true);
    each((h) => h.connected?.(reconnect));
  });
  s.on("disconnect", () => {
    watching = null;
    setStatus("disconnected");
  });
  s.on("connect_error", () => setStatus("disconnected"));
  s.on(
    "alarm:new",
    parsed(liveAlarmNew, (a) => each((h) => h.alarm?.(a, true, null))),
  );
  s.on(
    "alarm:changed",
    parsed(liveAlarmChanged, ({ change, ...a }) => each((h) => h.alarm?.(a, false, change))),
  );
  s.on(
    "alarm:alert",
    parsed(liveAlarmAlert, (a) => each((h) => h.alert?.(a))),
  );
  s.on(
    "position",
    parsed(livePosition, (p) => each((h) => h.position?.(p))),
  );
  s.on(
    "device:changed",
    parsed(liveDeviceChanged, (d) => each((h) => h.device?.(d))),
  );
  s.on(
    "session:ended",
    parsed(liveSessionEnded, (i) => each((h) => h.sessionEnded?.(i))),
  );
}

export function disconnectLive() {
  socket?.disconnect();
  socket = null;
  watching = null;
  setStatus("connecting");
}

/** Subscribes to live events; returns the unsubscribe function. */
export function subscribeLive(handlers: LiveHandlers): () => void {
  subscribers.add(handlers);
  handlers.status?.(status);
  return () => subscribers.delete(handlers);
}

export function liveStatus(): LiveStatus {
  return status;
}
