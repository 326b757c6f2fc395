import { type ActivityEntry, csvText } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import type { ApiDeps } from "../deps";
import { type Actor, allowedDepartments, reach } from "../policy";
import { recipientVisibleSql } from "../privacy/visibility";
import { found } from "../service-helpers";
import { type ActivityLogSetup, verifyActivityChain } from "./chain";
import { activityKeyring, type Caller, logActivity } from "./writer";

type ActorCaller = Caller & { actor: Actor };

interface LogRow {
  seq: string;
  id: string;
  at: Date;
  actor_type: ActivityEntry["actorType"];
  actor_id: string | null;
  session_id: string | null;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  recipient_ids: string[];
  recipients_withheld: number;
  reason: string | null;
  details: Record<string, unknown>;
  ip: string | null;
}
const toEntry = (r: LogRow): ActivityEntry => ({
  seq: Number(r.seq),
  id: r.id,
  at: r.at.toISOString(),
  actorType: r.actor_type,
  actorId: r.actor_id,
  sessionId: r.session_id,
  action: r.action,
  subjectType: r.subject_type,
  subjectId: r.subject_id,
  recipientIds: r.recipient_ids,
  ...(r.recipients_withheld > 0 ? { recipientsWithheld: r.recipients_withheld } : {}),
  reason: r.reason,
  details: r.details,
  ip: r.ip,
});

export interface ActivityFilter {
  userId?: string | undefined;
  recipientId?: string | undefined;
  action?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit: number;
  beforeSeq?: number | undefined;
}

/**
 * Auditors over the whole organisation see every row; auditors of departments
 * see the rows about recipients in those departments.
 */
async function scope(deps: ApiDeps, caller: ActorCaller) {
  const whole = reach(caller.actor, "activity:read").wholeOrganisation;
  const allowed = whole ? [] : await allowedDepartments(deps.pool, caller.actor, "activity:read");
  return { whole, allowed };
}

/**
 * A department auditor sees a row that names at least one recipient of their
 * departments, and of its recipients only those (the others are counted in
 * `recipientsWithheld`, a recipient subject outside is null): a live-map watch
 * over A and B shows an auditor of A that it happened and who of A was seen,
 * not who of B (api/README.md, "Activity rows across departments").
 */
const SCOPE_SQL = `a.organisation_id = $1 AND ($2::boolean OR a.recipient_ids && scope.ids)`;
const SCOPE_CTE = `WITH scope AS (SELECT ARRAY(
  SELECT r.id FROM recipients r WHERE r.organisation_id = $1 AND r.department_id = ANY($3::uuid[])) AS ids)`;

export async function queryActivity(deps: ApiDeps, caller: ActorCaller, f: ActivityFilter) {
  const s = await scope(deps, caller);
  const { rows } = await deps.pool.query<LogRow>(
    `${SCOPE_CTE}
     SELECT a.seq, a.id, a.at, a.actor_type, a.actor_id, a.session_id, a.action, a.subject_type,
            CASE WHEN $2::boolean OR a.subject_type IS DISTINCT FROM 'recipient' OR a.subject_id = ANY(scope.ids)
                 THEN a.subject_id END AS subject_id,
            CASE WHEN $2::boolean THEN a.recipient_ids
                 ELSE ARRAY(SELECT x FROM unnest(a.recipient_ids) x WHERE x = ANY(scope.ids)) END AS recipient_ids,
            CASE WHEN $2::boolean THEN 0
                 ELSE cardinality(ARRAY(SELECT x FROM unnest(a.recipient_ids) x WHERE NOT x = ANY(scope.ids))) END
              AS recipients_withheld,
            a.reason, a.details, host(a.ip) AS ip
       FROM activity_log a, scope
      WHERE ${SCOPE_SQL}
        AND ($4::uuid IS NULL OR a.actor_id = $4)
        AND ($5::uuid IS NULL OR $5 = ANY(a.recipient_ids) OR a.subject_id = $5)
        AND ($6::text IS NULL OR a.action = $6 OR a.action LIKE $6 || '.%')
        AND ($7::timestamptz IS NULL OR a.at >= $7)
        AND ($8::timestamptz IS NULL OR a.at < $8)
        AND ($9::bigint IS NULL OR a.seq < $9)
      ORDER BY a.seq DESC LIMIT $10`,
    [
      caller.organisationId,
      s.whole,
      s.allowed,
      f.userId ?? null,
      f.recipientId ?? null,
      f.action ?? null,
      f.from ?? null,
      f.to ?? null,
      f.beforeSeq ?? null,
      f.limit,
    ],
  );
  return rows.map(toEntry);
}

/** "Who has looked at me": every row naming the recipient, for a data-subject access request. */
export async function recipientActivity(deps: ApiDeps, caller: ActorCaller, recipientId: string) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "activity:read");
  const { rows } = await deps.pool.query<{ id: string }>(
    `SELECT id FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
        AND ${recipientVisibleSql("recipients")}`,
    [caller.organisationId, allowed, recipientId],
  );
  found(rows[0], "recipient");
  return queryActivity(deps, caller, { recipientId, limit: 1000 });
}

export async function exportActivityCsv(deps: ApiDeps, caller: ActorCaller, f: ActivityFilter) {
  const entries = await queryActivity(deps, caller, f);
  await withTransaction(deps.pool, (tx) =>
    logActivity(tx, caller, {
      action: "activity.exported",
      details: { filter: { ...f }, rows: entries.length },
    }),
  );
  const header =
    "seq,at,actor_type,actor_id,session_id,action,subject_type,subject_id,recipient_ids,reason,details,ip";
  return csvText(
    header.split(","),
    entries.map((e) => [
      e.seq,
      e.at,
      e.actorType,
      e.actorId,
      e.sessionId,
      e.action,
      e.subjectType,
      e.subjectId,
      e.recipientIds.join(" "),
      e.reason,
      e.details,
      e.ip,
    ]),
  );
}

/**
 * Verifies the organisation's chain with the keys (HMAC of every keyed row,
 * the unkeyed rule for legacy rows) and every signed checkpoint of it.
 */
export async function verifyActivityLog(
  db: import("@vakt/storage").Queryable,
  organisationId: string,
  setup?: Pick<ActivityLogSetup, "keyring" | "publicKey" | "readCheckpoints">,
  now: Date = new Date(),
) {
  const result = await verifyActivityChain(db, organisationId, {
    keyring: setup?.keyring ?? activityKeyring(),
    checkpoints: setup ? await setup.readCheckpoints() : [],
    publicKey: setup?.publicKey,
    now,
  });
  const first = result.findings[0];
  return { ...result, firstProblem: first ? { seq: first.seq, problem: first.kind } : null };
}
