/** Sessions: opening one (after a password, a second factor or single sign-on), listing and ending them. */
import type { Queryable } from "@vakt/storage";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { SessionStage } from "../context";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { newToken, sha256 } from "./secrets";

export interface NewSession {
  token: string;
  csrfToken: string;
  stage: SessionStage;
  expiresAt: Date;
  sessionId: string;
}

/** For a session opened through single sign-on: the provider and its ID token (for RP-initiated logout). */
export interface SsoSessionInfo {
  providerId: string;
  idToken: string;
}

export async function createSession(
  deps: ApiDeps,
  db: Queryable,
  user: { organisationId: string; userId: string },
  stage: SessionStage,
  now: Date,
  ip: string | null,
  userAgent: string | null,
  absoluteExpiresAt?: Date,
  sso?: SsoSessionInfo,
): Promise<NewSession> {
  const token = newToken("vakt_ses");
  const csrfToken = newToken("vakt_csrf");
  const absolute =
    absoluteExpiresAt ?? new Date(now.getTime() + deps.config.SESSION_ABSOLUTE_HOURS * 3_600_000);
  const idle = new Date(
    Math.min(now.getTime() + deps.config.SESSION_IDLE_MINUTES * 60_000, absolute.getTime()),
  );
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO sessions (token_sha256, organisation_id, user_id, stage, csrf_sha256, created_at, last_seen_at,
       idle_expires_at, absolute_expires_at, ip, user_agent, sso_provider_id, id_token)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
    [
      sha256(token),
      user.organisationId,
      user.userId,
      stage,
      sha256(csrfToken),
      now,
      idle,
      absolute,
      ip,
      userAgent,
      sso?.providerId ?? null,
      sso?.idToken ?? null,
    ],
  );
  return { token, csrfToken, stage, expiresAt: absolute, sessionId: rows[0]?.id ?? "" };
}

export async function logout(
  deps: ApiDeps,
  caller: Caller & { sessionId: string; userId: string },
  everywhere: boolean,
) {
  await withTransaction(deps.pool, async (tx) => {
    const { rowCount } = everywhere
      ? await tx.query("DELETE FROM sessions WHERE user_id = $1", [caller.userId])
      : await tx.query("DELETE FROM sessions WHERE id = $1", [caller.sessionId]);
    await logActivity(tx, caller, {
      action: everywhere ? "logout.everywhere" : "logout",
      details: { sessionsEnded: rowCount ?? 0 },
    });
  });
}

export async function me(deps: ApiDeps, userId: string) {
  const { rows } = await deps.pool.query<{
    id: string;
    organisation_id: string;
    email: string;
    first_name: string;
    last_name: string;
    totp_enabled_at: Date | null;
  }>(
    "SELECT id, organisation_id, email, first_name, last_name, totp_enabled_at FROM staff_users WHERE id = $1",
    [userId],
  );
  const u = rows[0];
  if (!u) throw new ApiError("unauthenticated");
  return {
    id: u.id,
    organisationId: u.organisation_id,
    email: u.email,
    firstName: u.first_name,
    lastName: u.last_name,
    secondFactorEnabled: u.totp_enabled_at !== null,
  };
}

/** The caller's own sessions that have not expired, newest use first. */
export async function listOwnSessions(deps: ApiDeps, caller: Caller & { sessionId: string; userId: string }) {
  const { rows } = await deps.pool.query<{
    id: string;
    created_at: Date;
    last_seen_at: Date;
    ip: string | null;
    user_agent: string | null;
    sso_provider_id: string | null;
    stage: SessionStage;
  }>(
    `SELECT id, created_at, last_seen_at, host(ip) AS ip, user_agent, sso_provider_id, stage FROM sessions
      WHERE user_id = $1 AND organisation_id = $2 AND idle_expires_at > $3 AND absolute_expires_at > $3
      ORDER BY last_seen_at DESC, id`,
    [caller.userId, caller.organisationId, caller.now],
  );
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
    ip: r.ip,
    userAgent: r.user_agent,
    current: r.id === caller.sessionId,
    singleSignOn: r.sso_provider_id !== null,
    stage: r.stage,
  }));
}

/** Ends every session of the caller but the one making the request (a lost phone, a shared computer). */
export async function logoutOthers(deps: ApiDeps, caller: Caller & { sessionId: string; userId: string }) {
  return withTransaction(deps.pool, async (tx) => {
    const { rowCount } = await tx.query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2", [
      caller.userId,
      caller.sessionId,
    ]);
    const sessionsEnded = rowCount ?? 0;
    await logActivity(tx, caller, { action: "logout.others", details: { sessionsEnded } });
    return { sessionsEnded };
  });
}
