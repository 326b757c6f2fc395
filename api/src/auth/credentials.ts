/**
 * The one way from a credential (session cookie, API token) to an actor,
 * shared by the HTTP middleware and the socket.io handshake and re-checks.
 * The transports differ only in what they do with a refusal or with a login
 * that has not passed its second factor: HTTP answers anonymously or 401,
 * a socket is refused or ended with the reason.
 */
import type { RoleKey, TokenPermission } from "@vakt/schemas";
import { parse } from "hono/utils/cookie";
import type pg from "pg";
import type { SessionStage } from "../context";
import type { Actor } from "../policy";
import { sha256 } from "./secrets";

export const SESSION_COOKIE = "vakt_session";

export type Credential = { kind: "session"; token: string } | { kind: "token"; secret: string };

/** Why a credential gives no actor (also what an ended socket is told). */
export type Refusal = "revoked" | "expired" | "user_disabled" | "token_revoked";

export type Resolution =
  | {
      ok: true;
      actor: Actor;
      /** Session callers: how far the login got, and what the HTTP path checks and touches. */
      session?: { stage: SessionStage; csrfSha256: string; lastSeenAt: Date };
      /** Token callers: when it was last used (HTTP touches it at most once a minute). */
      lastUsedAt?: Date | null;
    }
  | { ok: false; refusal: Refusal };

/** The session token in a Cookie header, read as Hono's getCookie reads it. */
export function sessionCookie(header: string | undefined): string | undefined {
  return header ? parse(header, SESSION_COOKIE)[SESSION_COOKIE] : undefined;
}

export async function resolveCredential(
  pool: pg.Pool,
  credential: Credential,
  now: Date,
): Promise<Resolution> {
  return credential.kind === "token"
    ? resolveToken(pool, credential.secret, now)
    : resolveSession(pool, credential.token, now);
}

async function resolveToken(pool: pg.Pool, secret: string, now: Date): Promise<Resolution> {
  const { rows } = await pool.query<{
    id: string;
    organisation_id: string;
    permissions: TokenPermission[];
    department_ids: string[] | null;
    pseudonymous: boolean;
    last_used_at: Date | null;
    usable: boolean;
  }>(
    `SELECT id, organisation_id, permissions, department_ids, pseudonymous, last_used_at,
            (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)) AS usable
       FROM api_tokens WHERE token_sha256 = $1`,
    [sha256(secret), now],
  );
  const t = rows[0];
  if (!t?.usable) return { ok: false, refusal: "token_revoked" };
  return {
    ok: true,
    actor: {
      kind: "api_token",
      organisationId: t.organisation_id,
      tokenId: t.id,
      permissions: t.permissions,
      departmentIds: t.department_ids,
      pseudonymous: t.pseudonymous,
    },
    lastUsedAt: t.last_used_at,
  };
}

async function resolveSession(pool: pg.Pool, token: string, now: Date): Promise<Resolution> {
  const { rows } = await pool.query<{
    id: string;
    organisation_id: string;
    user_id: string;
    stage: SessionStage;
    csrf_sha256: string;
    last_seen_at: Date;
    expired: boolean;
    user_active: boolean;
    grants: { role: RoleKey; departmentId: string | null }[];
  }>(
    `SELECT s.id, s.organisation_id, s.user_id, s.stage, s.csrf_sha256, s.last_seen_at,
            NOT (s.idle_expires_at > $2 AND s.absolute_expires_at > $2) AS expired,
            (u.status = 'active' AND u.access_ended_at IS NULL) AS user_active,
            coalesce((SELECT json_agg(json_build_object('role', g.role, 'departmentId', g.department_id))
                        FROM role_grants g WHERE g.organisation_id = s.organisation_id AND g.user_id = s.user_id),
                     '[]'::json) AS grants
       FROM sessions s JOIN staff_users u ON u.organisation_id = s.organisation_id AND u.id = s.user_id
      WHERE s.token_sha256 = $1`,
    [sha256(token), now],
  );
  const s = rows[0];
  if (!s) return { ok: false, refusal: "revoked" };
  if (s.expired) return { ok: false, refusal: "expired" };
  if (!s.user_active) return { ok: false, refusal: "user_disabled" };
  return {
    ok: true,
    actor: {
      kind: "user",
      organisationId: s.organisation_id,
      userId: s.user_id,
      sessionId: s.id,
      grants: s.grants,
    },
    session: { stage: s.stage, csrfSha256: s.csrf_sha256, lastSeenAt: s.last_seen_at },
  };
}
