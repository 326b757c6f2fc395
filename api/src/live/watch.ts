import { liveWatchPositions } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { holds } from "../policy";
import { isPseudonymous } from "../recipients/service";
import type { PositionPoller } from "./positions";
import { callerOf, type LiveRooms } from "./rooms";
import type { LiveServer, LiveSocket, Watch } from "./types";

/**
 * A socket's requests to watch live positions (all it may see, or a list) and to stop; each start and
 * end is an activity-log row naming the recipients, so the log holds every look.
 */
export function handleWatches(
  io: LiveServer,
  deps: ApiDeps,
  rooms: LiveRooms,
  positions: PositionPoller,
  log: ApiDeps["logger"],
) {
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
        if (data.watch) await rooms.endWatch(socket, "replaced");
        const requested = mode === "list" ? (ids as string[]) : [];
        const visible = await rooms.watchableRecipients(data.actor, mode === "all" ? null : requested);
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
      await rooms.endWatch(socket, "unwatched");
      ack?.({ ok: true });
    });
    socket.on("disconnect", () => {
      void rooms.endWatch(socket, "disconnected");
    });
  });
}
