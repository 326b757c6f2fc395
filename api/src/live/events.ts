import { EVENTS_CHANNEL, type PlatformEvent, platformEvent } from "@vakt/schemas";
import type pg from "pg";
import type { ApiDeps } from "../deps";

/** NOTIFYed when grants, sessions, users or tokens change: sockets are re-checked at once. */
export const AUTH_CHANNEL = "vakt_auth";

/**
 * The LISTEN connection: ingest's (and the API's own) `vakt_events`, and `vakt_auth`. A payload that
 * is not a platform event is ignored. `listening()` turns false when the connection fails, which
 * turns /api/healthz 503.
 */
export async function listenForEvents(
  deps: ApiDeps,
  log: ApiDeps["logger"],
  handlers: { auth(): void; event(e: PlatformEvent): void },
) {
  const listener: pg.PoolClient = await deps.pool.connect();
  let closed = false;
  listener.on("notification", (msg) => {
    if (closed || !msg.payload) return;
    if (msg.channel === AUTH_CHANNEL) {
      handlers.auth();
      return;
    }
    let parsed: ReturnType<typeof platformEvent.safeParse>;
    try {
      parsed = platformEvent.safeParse(JSON.parse(msg.payload));
    } catch {
      return;
    }
    if (parsed.success) handlers.event(parsed.data);
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
  return {
    listening: () => listening,
    async close() {
      closed = true;
      await listener.query(`UNLISTEN *`).catch(() => {});
      listener.release();
    },
  };
}
