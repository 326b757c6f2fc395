import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../context";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { holds, type Permission } from "../policy";
import { resolveCredential, SESSION_COOKIE } from "./credentials";
import { sameHash, sha256 } from "./secrets";

export { SESSION_COOKIE } from "./credentials";
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
  const r = await resolveCredential(deps.pool, { kind: "token", secret }, now);
  if (!r.ok || r.actor.kind !== "api_token")
    throw new ApiError("unauthenticated", "Unknown, expired or revoked API token.");
  const lastUsed = r.lastUsedAt;
  if (!lastUsed || now.getTime() - lastUsed.getTime() > TOUCH_AFTER_MS) {
    await deps.pool.query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", [r.actor.tokenId, now]);
  }
  c.set("actor", r.actor);
}

async function authenticateSession(deps: ApiDeps, c: Context<AppEnv>, token: string, now: Date) {
  const r = await resolveCredential(deps.pool, { kind: "session", token }, now);
  // Expired, unknown or disabled: anonymous; routes needing a login answer 401.
  if (!r.ok || !r.session || r.actor.kind !== "user") return;
  const s = r.session;
  if (!SAFE_METHODS.has(c.req.method)) {
    const presented = c.req.header(CSRF_HEADER);
    if (!presented || !sameHash(sha256(presented), s.csrfSha256)) throw new ApiError("csrf_failed");
  }
  if (now.getTime() - s.lastSeenAt.getTime() > TOUCH_AFTER_MS) {
    await deps.pool.query(
      `UPDATE sessions SET last_seen_at = $2,
              idle_expires_at = least($2::timestamptz + make_interval(mins => $3::int), absolute_expires_at)
        WHERE id = $1`,
      [r.actor.sessionId, now, deps.config.SESSION_IDLE_MINUTES],
    );
  }
  c.set("sessionStage", s.stage);
  c.set("actor", r.actor);
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
