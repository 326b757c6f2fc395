import type { RoleKey, TokenPermission } from "@vakt/schemas";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, SessionStage } from "../context";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { holds, type Permission } from "../policy";
import { sameHash, sha256 } from "./secrets";

export const SESSION_COOKIE = "vakt_session";
export const CSRF_COOKIE = "vakt_csrf";
export const CSRF_HEADER = "x-csrf-token";
export const TOKEN_PREFIX = "vakt_tok";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** How often a session's idle expiry is pushed forward (saves a write per request). */
const TOUCH_AFTER_MS = 60_000;

/**
 * Identifies the caller from a Bearer API token or the session cookie, and
 * checks the CSRF token on changes made with the cookie. Sets `actor` (or
 * leaves it undefined); routes decide with requirePermission.
 */
export function authenticate(deps: ApiDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("actor", undefined);
    c.set("sessionStage", undefined);
    const now = deps.clock.now();
    const authorization = c.req.header("authorization");
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m?.[1]) throw new ApiError("unauthenticated", "Malformed Authorization header.");
      await authenticateToken(deps, c, m[1], now);
      return next();
    }
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await authenticateSession(deps, c, token, now);
    return next();
  };
}

async function authenticateToken(deps: ApiDeps, c: Context<AppEnv>, secret: string, now: Date) {
  const { rows } = await deps.pool.query<{
    id: string;
    organisation_id: string;
    permissions: TokenPermission[];
    department_ids: string[] | null;
    pseudonymous: boolean;
    last_used_at: Date | null;
  }>(
    `SELECT id, organisation_id, permissions, department_ids, pseudonymous, last_used_at FROM api_tokens
      WHERE token_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
    [sha256(secret), now],
  );
  const t = rows[0];
  if (!t) throw new ApiError("unauthenticated", "Unknown, expired or revoked API token.");
  if (!t.last_used_at || now.getTime() - t.last_used_at.getTime() > TOUCH_AFTER_MS) {
    await deps.pool.query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", [t.id, now]);
  }
  c.set("actor", {
    kind: "api_token",
    organisationId: t.organisation_id,
    tokenId: t.id,
    permissions: t.permissions,
    departmentIds: t.department_ids,
    pseudonymous: t.pseudonymous,
  });
}

async function authenticateSession(deps: ApiDeps, c: Context<AppEnv>, token: string, now: Date) {
  const { rows } = await deps.pool.query<{
    id: string;
    organisation_id: string;
    user_id: string;
    stage: SessionStage;
    csrf_sha256: string;
    last_seen_at: Date;
    grants: { role: RoleKey; departmentId: string | null }[];
  }>(
    `SELECT s.id, s.organisation_id, s.user_id, s.stage, s.csrf_sha256, s.last_seen_at,
            coalesce((SELECT json_agg(json_build_object('role', g.role, 'departmentId', g.department_id))
                        FROM role_grants g WHERE g.organisation_id = s.organisation_id AND g.user_id = s.user_id),
                     '[]'::json) AS grants
       FROM sessions s
       JOIN staff_users u ON u.organisation_id = s.organisation_id AND u.id = s.user_id
      WHERE s.token_sha256 = $1 AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2
        AND u.status = 'active' AND u.access_ended_at IS NULL`,
    [sha256(token), now],
  );
  const s = rows[0];
  if (!s) return; // expired or unknown: anonymous; routes needing a login answer 401
  if (!SAFE_METHODS.has(c.req.method)) {
    const presented = c.req.header(CSRF_HEADER);
    if (!presented || !sameHash(sha256(presented), s.csrf_sha256)) throw new ApiError("csrf_failed");
  }
  if (now.getTime() - s.last_seen_at.getTime() > TOUCH_AFTER_MS) {
    await deps.pool.query(
      `UPDATE sessions SET last_seen_at = $2,
              idle_expires_at = least($2::timestamptz + make_interval(mins => $3::int), absolute_expires_at)
        WHERE id = $1`,
      [s.id, now, deps.config.SESSION_IDLE_MINUTES],
    );
  }
  c.set("sessionStage", s.stage);
  c.set("actor", {
    kind: "user",
    organisationId: s.organisation_id,
    userId: s.user_id,
    sessionId: s.id,
    grants: s.grants,
  });
}

/** The route needs this permission somewhere; services narrow it to departments. */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const actor = c.get("actor");
    if (!actor) throw new ApiError("unauthenticated");
    if (actor.kind === "user" && c.get("sessionStage") !== "active")
      throw new ApiError("second_factor_required");
    if (!holds(actor, permission))
      throw new ApiError("forbidden", `This needs the ${permission} permission.`);
    return next();
  };
}

/** Any of these permissions (e.g. position:read or position:locate). */
export function requireAnyPermission(...wanted: Permission[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const actor = c.get("actor");
    if (!actor) throw new ApiError("unauthenticated");
    if (actor.kind === "user" && c.get("sessionStage") !== "active")
      throw new ApiError("second_factor_required");
    if (!wanted.some((p) => holds(actor, p)))
      throw new ApiError("forbidden", `This needs ${wanted.join(" or ")}.`);
    return next();
  };
}

/** A logged-in person (any stage of login unless `active` is asked for); not an API token. */
export function requireSession(options: { active: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const actor = c.get("actor");
    if (actor?.kind !== "user") throw new ApiError("unauthenticated");
    if (options.active && c.get("sessionStage") !== "active") throw new ApiError("second_factor_required");
    return next();
  };
}
