import type { ClientToServerEvents, ServerToClientEvents } from "@vakt/schemas";
import type { Server, Socket } from "socket.io";
import type { Credential } from "../auth/credentials";
import type { Actor } from "../policy";

export type LiveServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** A socket's watch of live positions: what it asked for and the recipients it may see of that. */
export interface Watch {
  mode: "all" | "list";
  requested: string[];
  recipients: Set<string>;
  startedAt: Date;
}

export interface SocketData {
  actor: Actor;
  /** What the socket presented at its handshake: resolved again at every re-check. */
  credential: Credential;
  rooms: Set<string>;
  watch: Watch | null;
  ip: string | null;
}

export type LiveSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** `alarm:` real with positions; `p…` pseudonymous, `…n` without positions (a token without position:read). */
export const alarmRoomPrefix = (pseudonymous: boolean, positions: boolean) =>
  `${pseudonymous ? "p" : ""}${positions ? "" : "n"}`;
