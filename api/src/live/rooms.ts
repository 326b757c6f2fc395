/**
 * Which rooms a socket is in, decided from its current grants (see index.ts for the rooms), and the
 * end of a position watch with its activity-log row. Re-checked every few seconds and on `vakt_auth`.
 */
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import { type Credential, type Refusal, resolveCredential } from "../auth/credentials";
import type { ApiDeps } from "../deps";
import { type Actor, allowedDepartments, holds } from "../policy";
import { recipientVisibleSql } from "../privacy/visibility";
import { isPseudonymous } from "../recipients/service";
import { alarmRoomPrefix, type LiveSocket, type SocketData } from "./types";

type EndReason = Refusal | "logged_out";

/** The caller behind a socket's credential, or why there is none (a login short of its second factor too). */
export async function resolveActor(
  deps: ApiDeps,
  credential: Credential,
): Promise<{ actor: Actor } | { ended: EndReason }> {
  const r = await resolveCredential(deps.pool, credential, deps.clock.now());
  if (!r.ok) return { ended: r.refusal };
  if (r.session && r.session.stage !== "active") return { ended: "revoked" };
  return { actor: r.actor };
}

export const callerOf = (deps: ApiDeps, data: SocketData): Caller => ({
  actor: data.actor,
  organisationId: data.actor.organisationId,
  ip: data.ip,
  now: deps.clock.now(),
});

export type LiveRooms = ReturnType<typeof liveRooms>;

export function liveRooms(deps: ApiDeps, log: ApiDeps["logger"]) {
  /** Resolves the socket's credential again: ends the socket when it no longer holds, else re-joins. */
  async function syncRooms(socket: LiveSocket): Promise<void> {
    const data = socket.data;
    const who = await resolveActor(deps, data.credential);
    if ("ended" in who) {
      await endWatch(deps, log, socket, who.ended);
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
        deps,
        actor,
        data.watch.mode === "all" ? null : data.watch.requested,
      );
      data.watch.recipients = new Set(visible);
      for (const r of visible) wanted.add(`pos:${r}`);
    }
    for (const room of data.rooms) if (!wanted.has(room)) socket.leave(room);
    for (const room of wanted) if (!data.rooms.has(room)) socket.join(room);
    data.rooms = wanted;
    if (data.watch && !holds(actor, "position:read")) await endWatch(deps, log, socket, "grant withdrawn");
  }

  return {
    syncRooms,
    joinAllowedRooms,
    watchableRecipients: (actor: Actor, only: string[] | null) => watchableRecipients(deps, actor, only),
    endWatch: (socket: LiveSocket, why: string) => endWatch(deps, log, socket, why),
  };
}

/** Recipients whose positions the actor may see (optionally only these). */
async function watchableRecipients(deps: ApiDeps, actor: Actor, only: string[] | null): Promise<string[]> {
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

/** Ends the socket's position watch, if any: leaves its `pos:` rooms and logs how long it watched. */
async function endWatch(
  deps: ApiDeps,
  log: ApiDeps["logger"],
  socket: LiveSocket,
  why: string,
): Promise<void> {
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
