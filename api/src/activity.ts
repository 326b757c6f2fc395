import type { Queryable } from "@vakt/storage";
import type { Actor } from "./policy";

/** Who did it and from where: what every activity-log row carries. */
export interface Caller {
  actor: Actor | undefined;
  organisationId: string;
  ip: string | null;
  now: Date;
}

export interface ActivityEntry {
  action: string;
  subjectType?: string;
  subjectId?: string | null;
  recipientIds?: string[];
  reason?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Appends one row to the organisation's activity log. Call it with the
 * transaction that made the change, so the change and its record commit together.
 * The trigger from migration 0004 assigns seq and the hash chain.
 */
export async function logActivity(db: Queryable, caller: Caller, entry: ActivityEntry): Promise<void> {
  const a = caller.actor;
  const actorType = a === undefined ? "anonymous" : a.kind;
  const actorId = a === undefined ? null : a.kind === "user" ? a.userId : a.tokenId;
  const sessionId = a?.kind === "user" && a.sessionId ? a.sessionId : null;
  await db.query(
    `INSERT INTO activity_log (organisation_id, seq, at, actor_type, actor_id, session_id, action,
       subject_type, subject_id, recipient_ids, reason, details, ip, prev_hash, hash)
     VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '\\x', '\\x')`,
    [
      caller.organisationId,
      caller.now,
      actorType,
      actorId,
      sessionId,
      entry.action,
      entry.subjectType ?? null,
      entry.subjectId ?? null,
      entry.recipientIds ?? [],
      entry.reason ?? null,
      JSON.stringify(entry.details ?? {}),
      caller.ip,
    ],
  );
}

/** For "user X logged in": the actor is the user themself, without a session yet. */
export function userActor(organisationId: string, userId: string, sessionId = ""): Actor {
  return { kind: "user", organisationId, userId, sessionId, grants: [] };
}
