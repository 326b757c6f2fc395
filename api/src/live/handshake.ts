import { liveAuth } from "@vakt/schemas";
import { type Credential, sessionCookie } from "../auth/credentials";
import type { ApiDeps } from "../deps";
import { type LiveRooms, resolveActor } from "./rooms";
import type { LiveServer } from "./types";

/**
 * Who a socket is, at its handshake: an API token in `auth.token`, or the session cookie from our own
 * origin only (a cookie is ambient: no cross-site WebSocket hijacking). Refused sockets never connect.
 */
export function authenticateSockets(io: LiveServer, deps: ApiDeps, rooms: LiveRooms, log: ApiDeps["logger"]) {
  const publicOrigin = new URL(deps.config.PUBLIC_URL).origin;
  io.use(async (socket, next) => {
    try {
      const auth = liveAuth.safeParse(socket.handshake.auth ?? {});
      const token = auth.success ? auth.data.token : undefined;
      let credential: Credential;
      if (token) credential = { kind: "token", secret: token.replace(/^Bearer\s+/i, "") };
      else {
        const cookie = sessionCookie(socket.handshake.headers.cookie);
        if (!cookie) return next(new Error("unauthenticated"));
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
      await rooms.joinAllowedRooms(socket);
      next();
    } catch (err) {
      log.error({ err }, "socket authentication failed");
      next(new Error("internal"));
    }
  });
}
