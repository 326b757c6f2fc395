import type { ClientToServerEvents, LivePosition, ServerToClientEvents } from "@vakt/schemas";
import type { Server } from "socket.io";
import type { ApiDeps } from "../deps";
import { recipientVisibleSql } from "../privacy/visibility";

export type PositionPoller = ReturnType<typeof positionPoller>;

/**
 * Newest fix per watched recipient, sent once per new fix to `pos:<recipient>` on this process (ingest
 * sends no NOTIFY per position: each process polls for the recipients its own sockets watch).
 */
export function positionPoller(
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
