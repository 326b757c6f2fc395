/**
 * Position reads. Every read writes its activity-log row in the same
 * transaction as the query: who, which recipients, which range, and the reason
 * (required when the caller may see the recipient only as a locator).
 */

import { LOCATOR_REASON_MIN_LENGTH } from "@vakt/schemas";
import { detectCapabilities, type StorageCapabilities, timeBucketSql, withTransaction } from "@vakt/storage";
import { type Caller, logActivity, logRead } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments } from "../policy";
import { isPseudonymous, recipientIdFor, refuseRealId } from "../recipients/service";
import { found } from "../service-helpers";
import { recipientTransitions } from "./geofence-transitions";

type ActorCaller = Caller & { actor: Actor };

/** A position older than this is not "current". */
const CURRENT_WITHIN_DAYS = 30;
/** Fixes come at most every 10 s; buckets narrower than that gain nothing. */
const MIN_BUCKET_SECONDS = 10;
const MAX_RANGE_DAYS = 400;

/**
 * Departments whose positions the caller may read for this request: those
 * with position:read, plus those with position:locate when a reason is given.
 */
async function positionScope(deps: ApiDeps, caller: ActorCaller, reason: string | undefined) {
  const read = await allowedDepartments(deps.pool, caller.actor, "position:read");
  const locate = await allowedDepartments(deps.pool, caller.actor, "position:locate");
  if (locate.some((d) => !read.includes(d))) {
    // A locator's look-up needs a real justification, not "check".
    if (reason === undefined || reason.trim().length < LOCATOR_REASON_MIN_LENGTH) {
      if (reason === undefined && read.length > 0) return read;
      throw new ApiError(
        "reason_required",
        `Say why you look up this position, in at least ${LOCATOR_REASON_MIN_LENGTH} characters (it is logged).`,
        {
          errors: [
            { path: "reason", message: `at least ${LOCATOR_REASON_MIN_LENGTH} characters for locators` },
          ],
        },
      );
    }
    return [...new Set([...read, ...locate])];
  }
  return read;
}

/** Locators justify each look-up with at least this many characters. */
export { LOCATOR_REASON_MIN_LENGTH };

export function capabilitiesLoader(deps: ApiDeps) {
  let caps: Promise<StorageCapabilities> | undefined = deps.capabilities
    ? Promise.resolve(deps.capabilities)
    : undefined;
  return () => {
    caps ??= detectCapabilities(deps.pool).catch((err) => {
      caps = undefined;
      throw err;
    });
    return caps;
  };
}

interface CurrentRow {
  id: string;
  first_name: string;
  last_name: string;
  department_id: string;
  time: Date;
  lat: number;
  lon: number;
  accuracy_m: number | null;
  source: string;
  battery_percent: number | null;
}

/** The current-positions SQL (the scoped DISTINCT ON), shared by both paths and by the benchmark's bare reference. */
export const CURRENT_POSITIONS_SQL = `SELECT DISTINCT ON (r.id) r.id, r.first_name, r.last_name, r.department_id,
              p.time, p.lat, p.lon, p.accuracy_m, p.source, p.battery_percent
         FROM recipients r
         JOIN latest_positions p ON p.organisation_id = r.organisation_id AND p.recipient_id = r.id
        WHERE r.organisation_id = $1 AND r.department_id = ANY($2::uuid[]) AND r.status = 'active'
          AND r.restricted_at IS NULL AND p.time > $3 AND p.time <= $4
        ORDER BY r.id, p.time DESC`;

/**
 * The same rows, with PostgreSQL writing the GeoJSON text: the API passes it
 * through unparsed (rows to objects, GC and JSON.stringify of ~330 KB were
 * what made the route CPU-bound). Ids come back too, in the same order, for
 * the activity-log row. Times are cut to milliseconds like Date#toISOString;
 * `+ 0` turns -0 into 0, as JSON.stringify does.
 */
const CURRENT_POSITIONS_JSON_SQL = `WITH cur AS (${CURRENT_POSITIONS_SQL})
SELECT coalesce(array_agg(c.id::text ORDER BY c.id), '{}') AS ids,
       '{"type":"FeatureCollection","features":[' || coalesce(string_agg(f.feature, ',' ORDER BY c.id), '') || ']}' AS body
  FROM cur c
  CROSS JOIN LATERAL (
    SELECT row_to_json(ft)::text AS feature FROM (
      SELECT 'Feature' AS type,
             (SELECT row_to_json(g) FROM (SELECT 'Point' AS type, json_build_array(c.lon + 0, c.lat + 0) AS coordinates) g) AS geometry,
             (SELECT row_to_json(pr) FROM (
                SELECT c.id AS "recipientId", c.first_name || ' ' || c.last_name AS name,
                       c.department_id AS "departmentId",
                       to_char(c.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS time,
                       c.accuracy_m + 0::real AS "accuracyM", c.source, c.battery_percent AS "batteryPercent") pr) AS properties
    ) ft
  ) f`;

/** Every current position at once is for those who watch the map; locators look up one recipient at a time. */
async function currentScope(deps: ApiDeps, caller: ActorCaller) {
  const scope = await allowedDepartments(deps.pool, caller.actor, "position:read");
  if (scope.length === 0)
    throw new ApiError(
      "forbidden",
      "Locators look up one recipient at a time (their history, with a reason).",
    );
  return { scope, since: new Date(caller.now.getTime() - CURRENT_WITHIN_DAYS * 86_400_000) };
}

/** The view's log row is stored before the answer leaves: a read nobody recorded never happened. */
function logCurrentView(deps: ApiDeps, caller: ActorCaller, ids: string[], reason: string | undefined) {
  return logRead(deps.pool, caller, {
    action: "position.current_viewed",
    recipientIds: ids,
    reason: reason ?? null,
    details: { count: ids.length },
  });
}

/**
 * Current positions as JSON text, ready to send. Pseudonymous tokens get
 * the object path: their ids are an HMAC whose key stays out of the database.
 */
export async function currentPositionsJson(
  deps: ApiDeps,
  caller: ActorCaller,
  reason: string | undefined,
): Promise<string> {
  if (isPseudonymous(caller.actor)) return JSON.stringify(await currentPositions(deps, caller, reason));
  const { scope, since } = await currentScope(deps, caller);
  const { rows } = await deps.pool.query<{ ids: string[]; body: string }>(CURRENT_POSITIONS_JSON_SQL, [
    caller.organisationId,
    scope,
    since,
    caller.now,
  ]);
  const row = rows[0];
  if (!row) throw new Error("current positions query returned no row");
  await logCurrentView(deps, caller, row.ids, reason);
  return row.body;
}

/** Current positions as objects: the reference the JSON path is tested against, and the pseudonymous path. */
export async function currentPositions(deps: ApiDeps, caller: ActorCaller, reason: string | undefined) {
  const { scope, since } = await currentScope(deps, caller);
  const { rows } = await deps.pool.query<CurrentRow>(CURRENT_POSITIONS_SQL, [
    caller.organisationId,
    scope,
    since,
    caller.now,
  ]);
  await logCurrentView(
    deps,
    caller,
    rows.map((r) => r.id),
    reason,
  );
  const pseudo = isPseudonymous(caller.actor);
  return {
    type: "FeatureCollection" as const,
    features: rows.map((r) => ({
      type: "Feature" as const,
      geometry: { type: "Point" as const, coordinates: [r.lon, r.lat] as [number, number] },
      properties: {
        recipientId: recipientIdFor(deps, caller.actor, caller.organisationId, r.id),
        name: pseudo ? null : `${r.first_name} ${r.last_name}`,
        departmentId: r.department_id,
        time: r.time.toISOString(),
        accuracyM: r.accuracy_m,
        source: r.source,
        batteryPercent: r.battery_percent,
      },
    })),
  };
}

export async function positionHistory(
  deps: ApiDeps,
  caller: ActorCaller,
  caps: () => Promise<StorageCapabilities>,
  recipientId: string,
  q: { from: string; to: string; maxPoints: number; reason?: string | undefined },
) {
  const from = new Date(q.from);
  const to = new Date(q.to);
  const rangeS = (to.getTime() - from.getTime()) / 1000;
  if (!(rangeS > 0) || rangeS > MAX_RANGE_DAYS * 86_400) {
    throw new ApiError("validation_failed", `from must be before to, at most ${MAX_RANGE_DAYS} days apart.`, {
      errors: [{ path: "to", message: "after from, within the allowed range" }],
    });
  }
  refuseRealId(caller.actor, "recipient");
  const scope = await positionScope(deps, caller, q.reason);
  const bucketSeconds = Math.ceil(rangeS / q.maxPoints);
  const bucketed = bucketSeconds > MIN_BUCKET_SECONDS;
  const capabilities = bucketed ? await caps() : undefined;
  return withTransaction(deps.pool, async (tx) => {
    found(
      (
        await tx.query(
          `SELECT 1 FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
             AND restricted_at IS NULL`,
          [caller.organisationId, scope, recipientId],
        )
      ).rows[0],
      "recipient",
    );
    const { rows } = capabilities
      ? await tx.query<{ time: Date; lat: number; lon: number; accuracy_m: number | null }>(
          `SELECT ${timeBucketSql(capabilities, 5)} AS time, avg(lat) AS lat, avg(lon) AS lon,
                  max(accuracy_m) AS accuracy_m
             FROM positions
            WHERE organisation_id = $1 AND recipient_id = $2 AND time >= $3 AND time < $4
            GROUP BY 1 ORDER BY 1`,
          [caller.organisationId, recipientId, from, to, `${bucketSeconds} seconds`],
        )
      : await tx.query<{ time: Date; lat: number; lon: number; accuracy_m: number | null }>(
          `SELECT time, lat, lon, accuracy_m FROM positions
            WHERE organisation_id = $1 AND recipient_id = $2 AND time >= $3 AND time < $4
            ORDER BY time LIMIT $5`,
          [caller.organisationId, recipientId, from, to, q.maxPoints],
        );
    const transitions = await recipientTransitions(tx, caller.organisationId, recipientId, from, to);
    await logActivity(tx, caller, {
      action: "position.history_viewed",
      subjectType: "recipient",
      subjectId: recipientId,
      recipientIds: [recipientId],
      reason: q.reason ?? null,
      details: {
        from: from.toISOString(),
        to: to.toISOString(),
        points: rows.length,
        transitions: transitions.length,
      },
    });
    return {
      recipientId: recipientIdFor(deps, caller.actor, caller.organisationId, recipientId),
      from: from.toISOString(),
      to: to.toISOString(),
      bucketSeconds: bucketed ? bucketSeconds : null,
      points: rows.map((r) => ({
        time: r.time.toISOString(),
        lat: Number(r.lat),
        lon: Number(r.lon),
        accuracyM: r.accuracy_m === null ? null : Number(r.accuracy_m),
      })),
      transitions,
    };
  });
}
