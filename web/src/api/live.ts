/**
 * The one socket module: a socket.io connection on the same origin (the session
 * cookie authenticates it), every event parsed with the shared schemas, and the
 * connection state for the status line. Reconnects on its own; subscribers are
 * told on every (re)connect so they can catch up with what they missed.
 */
import {
  type ClientToServerEvents,
  LIVE_PATH,
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
  alarm?(alarm: z.infer<typeof liveAlarmNew>, isNew: boolean): void;
  position?(p: z.infer<typeof livePosition>): void;
  device?(d: z.infer<typeof liveDeviceChanged>): void;
  sessionEnded?(info: z.infer<typeof liveSessionEnded>): void;
  /** After every connect and reconnect: refetch what may have been missed. */
  connected?(reconnect: boolean): void;
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

function watchAll() {
  socket?.emit("watch:positions", { recipientIds: "all" }, (result) => {
    const r = liveWatchResult.safeParse(result);
    if (r.success && !r.data.ok) console.warn("watch:positions refused", r.data.error);
  });
}

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
    watchAll();
    each((h) => h.connected?.(reconnect));
  });
  s.on("disconnect", () => setStatus("disconnected"));
  s.on("connect_error", () => setStatus("disconnected"));
  s.on(
    "alarm:new",
    parsed(liveAlarmNew, (a) => each((h) => h.alarm?.(a, true))),
  );
  s.on(
    "alarm:changed",
    parsed(liveAlarmChanged, (a) => each((h) => h.alarm?.(a, false))),
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
