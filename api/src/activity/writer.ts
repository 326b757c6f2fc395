import type { ActivityAction } from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import pg from "pg";
import type { Actor } from "../policy";
import { appendReadActivity } from "./batch";
import {
  type ActivityKeyring,
  CANONICAL_AT_SQL,
  type CanonicalRow,
  contentMac,
  generateActivityKeyring,
  linkHash,
} from "./chain";

/** Who did it and from where: what every activity-log row carries. */
export interface Caller {
  actor: Actor | undefined;
  organisationId: string;
  ip: string | null;
  now: Date;
}

export interface ActivityEntry {
  action: ActivityAction;
  subjectType?: string;
  subjectId?: string | null;
  recipientIds?: string[];
  reason?: string | null;
  details?: Record<string, unknown>;
}

/** A uuid as PostgreSQL writes it (lower case, hyphenated). */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let keyring: ActivityKeyring = generateActivityKeyring("ephemeral");

/**
 * The keys this process writes activity-log rows with. createApp sets them
 * from its deps; until then (scripts, tests that do not care) an ephemeral key
 * made at start is used, whose rows verify only within this process.
 */
export function useActivityKeyring(k: ActivityKeyring): void {
  keyring = k;
}
export const activityKeyring = (): ActivityKeyring => keyring;

export interface ActivityRow {
  organisationId: string;
  at: Date;
  actorType: "user" | "api_token" | "system" | "anonymous";
  actorId?: string | null;
  sessionId?: string | null;
  action: string;
  subjectType?: string | null;
  subjectId?: string | null;
  recipientIds?: string[];
  reason?: string | null;
  details?: object;
  ip?: string | null;
}

/**
 * The organisation's chain head (its newest row, or the retention anchor), a new row id, and the
 * row's values as the database renders them (timestamp, uuids, JSON, address): the canonical text
 * is made of what will be stored, so verification later reads back the same bytes.
 */
async function headAndCanonicalValues(db: Queryable, row: ActivityRow, ids: readonly string[]) {
  const { rows } = await db.query<{
    head_seq: string;
    head_hash: Buffer;
    org: string;
    id: string;
    at_text: string;
    actor_id: string | null;
    subject_id: string | null;
    recipient_ids: string[];
    details: string;
    ip: string | null;
  }>(
    `SELECT coalesce(h.seq, an.upto_seq, 0) AS head_seq, coalesce(h.hash, an.upto_hash, '\\x'::bytea) AS head_hash,
            $1::uuid::text AS org, gen_random_uuid()::text AS id, ${CANONICAL_AT_SQL("$2::timestamptz")} AS at_text,
            $3::uuid::text AS actor_id, $4::uuid::text AS subject_id, $5::uuid[]::text[] AS recipient_ids,
            $6::jsonb::text AS details, host($7::inet) AS ip
       FROM (SELECT 1) one
       LEFT JOIN LATERAL (SELECT seq, hash FROM activity_log WHERE organisation_id = $1 ORDER BY seq DESC LIMIT 1) h ON true
       LEFT JOIN activity_log_anchors an ON an.organisation_id = $1`,
    [
      row.organisationId,
      row.at,
      row.actorId ?? null,
      row.subjectId ?? null,
      ids,
      JSON.stringify(row.details ?? {}),
      row.ip ?? null,
    ],
  );
  const n = rows[0];
  if (!n) throw new Error("activity log head query returned nothing");
  return n;
}

/**
 * Appends one keyed row: takes the organisation's lock (held to the end of the
 * transaction), reads the head, renders the fields as the database stores
 * them, and inserts the row with its HMACs. `db` is a client inside the
 * caller's transaction (so the row commits with the change), or a pool, for
 * which the row gets a transaction of its own.
 */
export async function appendActivityRow(
  db: Queryable,
  row: ActivityRow,
  k: ActivityKeyring = keyring,
): Promise<void> {
  // On a pool the lock would end with its statement: take a client and a transaction of our own.
  if (db instanceof pg.Pool) return withTransaction(db, (tx) => appendActivityRow(tx, row, k));
  const ids = row.recipientIds ?? [];
  // Ids already in uuid_out's form are what the database would render: they skip the round trip
  // below, which for a console's view of 1,000 recipients was milliseconds inside the organisation's lock.
  const idsCanonical = ids.every((id) => CANONICAL_UUID.test(id));
  await db.query("SELECT pg_advisory_xact_lock(hashtextextended('vakt.activity_log:' || $1::text, 0))", [
    row.organisationId,
  ]);
  const n = await headAndCanonicalValues(db, row, idsCanonical ? [] : ids);
  const seq = (BigInt(n.head_seq) + 1n).toString();
  const canonical: CanonicalRow = {
    organisationId: n.org,
    seq,
    id: n.id,
    at: n.at_text,
    actorType: row.actorType,
    actorId: n.actor_id,
    sessionId: row.sessionId ?? null,
    action: row.action,
    subjectType: row.subjectType ?? null,
    subjectId: n.subject_id,
    recipientIds: idsCanonical ? ids : n.recipient_ids,
    reason: row.reason ?? null,
    details: n.details,
    ip: n.ip,
    keyId: k.current.id,
  };
  const mac = contentMac(k.current.key, canonical);
  const hash = linkHash(k.current.key, n.head_hash, mac);
  await db.query(
    `INSERT INTO activity_log (organisation_id, seq, id, at, actor_type, actor_id, session_id, action,
       subject_type, subject_id, recipient_ids, reason, details, ip, prev_hash, hash, key_id, content_mac)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
    [
      row.organisationId,
      seq,
      n.id,
      row.at,
      row.actorType,
      n.actor_id,
      canonical.sessionId,
      row.action,
      canonical.subjectType,
      n.subject_id,
      canonical.recipientIds,
      canonical.reason,
      n.details,
      n.ip,
      n.head_hash,
      hash,
      k.current.id,
      mac,
    ],
  );
}

/**
 * Appends one row to the organisation's activity log. Call it with the
 * transaction that made the change, so the change and its record commit together.
 */
export async function logActivity(db: Queryable, caller: Caller, entry: ActivityEntry): Promise<void> {
  await appendActivityRow(db, activityRowOf(caller, entry));
}

/**
 * Appends the row for a read (someone saw positions): nothing to commit it
 * with, so it is group-committed with concurrent reads of the organisation.
 * Resolves once the row is stored; the caller answers only after that.
 */
export function logRead(pool: pg.Pool, caller: Caller, entry: ActivityEntry): Promise<void> {
  return appendReadActivity(pool, activityRowOf(caller, entry));
}

function activityRowOf(caller: Caller, entry: ActivityEntry): ActivityRow {
  const a = caller.actor;
  return {
    organisationId: caller.organisationId,
    at: caller.now,
    actorType: a === undefined ? "anonymous" : a.kind,
    actorId: a === undefined ? null : a.kind === "user" ? a.userId : a.tokenId,
    sessionId: a?.kind === "user" && a.sessionId ? a.sessionId : null,
    action: entry.action,
    subjectType: entry.subjectType ?? null,
    subjectId: entry.subjectId ?? null,
    recipientIds: entry.recipientIds ?? [],
    reason: entry.reason ?? null,
    details: entry.details ?? {},
    ip: caller.ip,
  };
}

/** For "user X logged in": the actor is the user themself, without a session yet. */
export function userActor(organisationId: string, userId: string, sessionId = ""): Actor {
  return { kind: "user", organisationId, userId, sessionId, grants: [] };
}
