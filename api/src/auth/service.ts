/**
 * Login, second factor, sessions, invitations and password resets.
 *
 * Brute force: every attempt is a row in login_attempts, so the count holds
 * across API processes. After ACCOUNT_FREE failures on an account (since its
 * last success) or IP_FREE failures from an address within the window, further
 * attempts wait 30 s, doubling per failure, at most an hour.
 */
import { withTransaction } from "@vakt/storage";
import { generateSecret, generateURI, verify as verifyTotp } from "otplib";
import { type Caller, logActivity, userActor } from "../activity/writer";
import type { SessionStage } from "../context";
import type { ApiDeps, PasswordHashingOptions } from "../deps";
import { OWASP_ARGON2ID } from "../deps";
import { ApiError } from "../errors";
import { type Actor, type Grant, isAdministrator } from "../policy";
import { checkPasswordStrength } from "./password-strength";
import { hashPassword, newToken, sha256, verifyPassword } from "./secrets";

export const ACCOUNT_FREE_FAILURES = 5;
export const IP_FREE_FAILURES = 20;
const WINDOW_MS = 60 * 60_000;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60_000;
export const RESET_TTL_MS = 60 * 60_000;

export function hashing(deps: ApiDeps): PasswordHashingOptions {
  return deps.passwordHashing ?? OWASP_ARGON2ID;
}

export function lockDelayMs(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(BASE_DELAY_MS * 2 ** (failures - free), MAX_DELAY_MS);
}

/**
 * Throws 429 when the account or the address (as asked) is locked out right now.
 * The address lockout is not applied to a right password of an account with a
 * second factor, nor to its second step (OWASP Authentication Cheat Sheet,
 * "Account Lockout", and Credential Stuffing Prevention Cheat Sheet: MFA is the
 * main defence, address throttling must not lock out everyone behind one NAT);
 * the per-account lockout still bounds guessing on that account.
 */
async function checkLockout(
  deps: ApiDeps,
  email: string,
  ip: string | null,
  now: Date,
  which: { account: boolean; address: boolean } = { account: true, address: true },
) {
  const since = new Date(now.getTime() - WINDOW_MS);
  const { rows } = await deps.pool.query<{
    account_n: number;
    account_last: Date | null;
    ip_n: number;
    ip_last: Date | null;
  }>(
    `WITH last_ok AS (
       SELECT max(at) AS t FROM login_attempts WHERE email = $1 AND success AND at > $3
     ), account AS (
       SELECT count(*)::int AS n, max(at) AS last FROM login_attempts
        WHERE email = $1 AND NOT success AND at > coalesce((SELECT t FROM last_ok), $3)
     ), addr AS (
       SELECT count(*)::int AS n, max(at) AS last FROM login_attempts
        WHERE $2::inet IS NOT NULL AND ip = $2::inet AND NOT success AND at > $3
     )
     SELECT account.n AS account_n, account.last AS account_last, addr.n AS ip_n, addr.last AS ip_last
       FROM account, addr`,
    [email, ip, since],
  );
  const r = rows[0];
  if (!r) return;
  const until = Math.max(
    which.account && r.account_last
      ? r.account_last.getTime() + lockDelayMs(r.account_n, ACCOUNT_FREE_FAILURES)
      : 0,
    which.address && r.ip_last ? r.ip_last.getTime() + lockDelayMs(r.ip_n, IP_FREE_FAILURES) : 0,
  );
  const lockedAccount = which.account && r.account_n >= ACCOUNT_FREE_FAILURES;
  const lockedIp = which.address && r.ip_n >= IP_FREE_FAILURES;
  if ((lockedAccount || lockedIp) && until > now.getTime()) {
    const retryAfterSeconds = Math.ceil((until - now.getTime()) / 1000);
    throw new ApiError(
      "too_many_requests",
      `Too many failed attempts; try again in ${retryAfterSeconds} s.`,
      {
        retryAfterSeconds,
      },
    );
  }
}

async function recordAttempt(deps: ApiDeps, email: string, ip: string | null, now: Date, success: boolean) {
  await deps.pool.query("INSERT INTO login_attempts (at, email, ip, success) VALUES ($1, $2, $3, $4)", [
    now,
    email,
    ip,
    success,
  ]);
}

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
  db: import("@vakt/storage").Queryable,
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

interface LoginUser {
  id: string;
  organisation_id: string;
  password_hash: string | null;
  status: string;
  access_ended_at: Date | null;
  totp_enabled_at: Date | null;
  require_admin_second_factor: boolean;
  local_password_login: boolean;
  grants: Grant[];
}

export async function login(
  deps: ApiDeps,
  input: { email: string; password: string },
  meta: { ip: string | null; userAgent: string | null },
): Promise<NewSession> {
  const now = deps.clock.now();
  await checkLockout(deps, input.email, meta.ip, now, { account: true, address: false });
  const { rows } = await deps.pool.query<LoginUser>(
    `SELECT u.id, u.organisation_id, u.password_hash, u.status, u.access_ended_at, u.totp_enabled_at,
            o.require_admin_second_factor, o.local_password_login,
            coalesce((SELECT json_agg(json_build_object('role', g.role, 'departmentId', g.department_id))
                        FROM role_grants g WHERE g.user_id = u.id), '[]'::json) AS grants
       FROM staff_users u JOIN organisations o ON o.id = u.organisation_id
      WHERE u.email = $1`,
    [input.email],
  );
  const user = rows[0];
  const passwordOk = await verifyPassword(user?.password_hash ?? null, input.password, hashing(deps));
  const usable = user !== undefined && user.status === "active" && user.access_ended_at === null;
  // A locked address still lets a right password through to the second factor, and nothing else.
  if (!(passwordOk && usable && user.totp_enabled_at))
    await checkLockout(deps, input.email, meta.ip, now, { account: false, address: true });
  const logFailure = (u: LoginUser, reason: string) =>
    logActivity(
      deps.pool,
      { actor: undefined, organisationId: u.organisation_id, ip: meta.ip, now },
      { action: "login.failed", subjectType: "staff_user", subjectId: u.id, details: { reason } },
    );
  if (!passwordOk || !usable) {
    await recordAttempt(deps, input.email, meta.ip, now, false);
    if (user) await logFailure(user, passwordOk ? "account_disabled" : "wrong_password");
    throw new ApiError("unauthenticated", "E-mail or password is wrong.");
  }
  await recordAttempt(deps, input.email, meta.ip, now, true);
  // Checked after the password, so the answer tells the setting only to someone who knows it.
  const breakGlass = !user.local_password_login;
  if (breakGlass && !user.grants.some((g) => g.role === "org_admin")) {
    await logFailure(user, "sso_required");
    throw new ApiError("sso_required", "This organisation logs in with single sign-on.");
  }
  const stage: SessionStage = user.totp_enabled_at
    ? "second_factor_required"
    : user.require_admin_second_factor && isAdministrator(user.grants)
      ? "second_factor_enrolment_required"
      : "active";
  return withTransaction(deps.pool, async (tx) => {
    const session = await createSession(
      deps,
      tx,
      { organisationId: user.organisation_id, userId: user.id },
      stage,
      now,
      meta.ip,
      meta.userAgent,
    );
    if (stage === "active")
      await tx.query("UPDATE staff_users SET last_login_at = $2 WHERE id = $1", [user.id, now]);
    await logActivity(
      tx,
      {
        actor: userActor(user.organisation_id, user.id, session.sessionId),
        organisationId: user.organisation_id,
        ip: meta.ip,
        now,
      },
      { action: stage === "active" ? "login.succeeded" : "login.password_accepted", details: { stage } },
    );
    if (breakGlass) {
      // Local passwords are off for this organisation: an administrator's emergency login.
      await logActivity(
        tx,
        {
          actor: userActor(user.organisation_id, user.id, session.sessionId),
          organisationId: user.organisation_id,
          ip: meta.ip,
          now,
        },
        {
          action: "login.break_glass",
          subjectType: "staff_user",
          subjectId: user.id,
          details: { stage, secondFactor: stage === "active" ? "none" : "pending" },
        },
      );
    }
    return session;
  });
}

async function checkTotp(secret: string, code: string, now: Date, afterTimeStep: number | null) {
  const result = await verifyTotp({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: 30,
    ...(afterTimeStep !== null ? { afterTimeStep } : {}),
  });
  return result.valid && "timeStep" in result ? result.timeStep : undefined;
}

/** Second step of login: a TOTP code; replaces the session with an active one. */
export async function completeSecondFactor(
  deps: ApiDeps,
  caller: Caller & { sessionId: string; userId: string },
  code: string,
  meta: { userAgent: string | null },
): Promise<NewSession> {
  const now = caller.now;
  const { rows } = await deps.pool.query<{
    email: string;
    totp_secret: string | null;
    totp_last_step: string | null;
    stage: SessionStage;
    absolute_expires_at: Date;
  }>(
    `SELECT u.email, u.totp_secret, u.totp_last_step, s.stage, s.absolute_expires_at
       FROM sessions s JOIN staff_users u ON u.id = s.user_id
      WHERE s.id = $1 AND u.totp_enabled_at IS NOT NULL`,
    [caller.sessionId],
  );
  const row = rows[0];
  if (!row?.totp_secret || row.stage !== "second_factor_required") {
    throw new ApiError("conflict", "This session is not waiting for a second factor.");
  }
  await checkLockout(deps, row.email, caller.ip, now, { account: true, address: false });
  const step = await checkTotp(
    row.totp_secret,
    code,
    now,
    row.totp_last_step ? Number(row.totp_last_step) : null,
  );
  if (step === undefined) {
    await recordAttempt(deps, row.email, caller.ip, now, false);
    await logActivity(deps.pool, caller, {
      action: "login.failed",
      subjectType: "staff_user",
      subjectId: caller.userId,
      details: { reason: "wrong_second_factor" },
    });
    throw new ApiError("unauthenticated", "The code is wrong or was already used.");
  }
  await recordAttempt(deps, row.email, caller.ip, now, true);
  return withTransaction(deps.pool, async (tx) => {
    await tx.query("DELETE FROM sessions WHERE id = $1", [caller.sessionId]);
    await tx.query("UPDATE staff_users SET totp_last_step = $2, last_login_at = $3 WHERE id = $1", [
      caller.userId,
      step,
      now,
    ]);
    const session = await createSession(
      deps,
      tx,
      { organisationId: caller.organisationId, userId: caller.userId },
      "active",
      now,
      caller.ip,
      meta.userAgent,
      row.absolute_expires_at,
    );
    await logActivity(
      tx,
      { ...caller, actor: userActor(caller.organisationId, caller.userId, session.sessionId) },
      { action: "login.succeeded", details: { secondFactor: "totp" } },
    );
    return session;
  });
}

export async function setupTotp(deps: ApiDeps, caller: Caller & { userId: string }) {
  const secret = generateSecret();
  const { rows } = await deps.pool.query<{ email: string }>(
    `UPDATE staff_users SET totp_secret = $2, updated_at = $3
      WHERE id = $1 AND totp_enabled_at IS NULL RETURNING email`,
    [caller.userId, secret, caller.now],
  );
  const email = rows[0]?.email;
  if (!email) throw new ApiError("conflict", "A second factor is already enabled.");
  return { secret, otpauthUri: generateURI({ issuer: "Vakt", label: email, secret }) };
}

/** Confirms enrolment with a first code; a session that was waiting for enrolment becomes active. */
export async function enableTotp(
  deps: ApiDeps,
  caller: Caller & { sessionId: string; userId: string },
  code: string,
  meta: { userAgent: string | null },
): Promise<NewSession | undefined> {
  const { rows } = await deps.pool.query<{
    totp_secret: string | null;
    stage: SessionStage;
    absolute_expires_at: Date;
  }>(
    `SELECT u.totp_secret, s.stage, s.absolute_expires_at FROM sessions s JOIN staff_users u ON u.id = s.user_id
      WHERE s.id = $1 AND u.totp_enabled_at IS NULL`,
    [caller.sessionId],
  );
  const row = rows[0];
  if (!row?.totp_secret)
    throw new ApiError("conflict", "Start the set-up first, or a second factor is already enabled.");
  const step = await checkTotp(row.totp_secret, code, caller.now, null);
  if (step === undefined)
    throw new ApiError("validation_failed", "The code is wrong; check the clock of the device.");
  return withTransaction(deps.pool, async (tx) => {
    await tx.query(
      "UPDATE staff_users SET totp_enabled_at = $2, totp_last_step = $3, updated_at = $2 WHERE id = $1",
      [caller.userId, caller.now, step],
    );
    await logActivity(tx, caller, {
      action: "second_factor.enabled",
      subjectType: "staff_user",
      subjectId: caller.userId,
    });
    if (row.stage !== "second_factor_enrolment_required") return undefined;
    await tx.query("DELETE FROM sessions WHERE id = $1", [caller.sessionId]);
    await tx.query("UPDATE staff_users SET last_login_at = $2 WHERE id = $1", [caller.userId, caller.now]);
    return createSession(
      deps,
      tx,
      { organisationId: caller.organisationId, userId: caller.userId },
      "active",
      caller.now,
      caller.ip,
      meta.userAgent,
      row.absolute_expires_at,
    );
  });
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

/** Creates an invitation for a user (deleting earlier ones); returns the token, shown once. */
export async function createInvitation(
  db: import("@vakt/storage").Queryable,
  organisationId: string,
  userId: string,
  createdBy: string | null,
  now: Date,
) {
  const token = newToken("vakt_inv");
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS);
  await db.query("DELETE FROM invitations WHERE user_id = $1", [userId]);
  await db.query(
    `INSERT INTO invitations (token_sha256, organisation_id, user_id, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [sha256(token), organisationId, userId, createdBy, now, expiresAt],
  );
  return { token, expiresAt };
}

/** Sets the password of a user from an invitation or reset token; the token is deleted in any case. */
async function redeem(
  deps: ApiDeps,
  table: "invitations" | "password_resets",
  token: string,
  password: string,
  ip: string | null,
) {
  const now = deps.clock.now();
  checkPasswordStrength(password);
  const passwordHash = await hashPassword(password, hashing(deps));
  const result = await withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{ organisation_id: string; user_id: string; expires_at: Date }>(
      `DELETE FROM ${table} WHERE token_sha256 = $1 RETURNING organisation_id, user_id, expires_at`,
      [sha256(token)],
    );
    const row = rows[0];
    if (!row || row.expires_at <= now) return row ? "expired" : "unknown";
    await tx.query("UPDATE staff_users SET password_hash = $2, updated_at = $3 WHERE id = $1", [
      row.user_id,
      passwordHash,
      now,
    ]);
    // A new password ends every session: whoever knew the old one is out.
    await tx.query("DELETE FROM sessions WHERE user_id = $1", [row.user_id]);
    await tx.query("DELETE FROM password_resets WHERE user_id = $1", [row.user_id]);
    await logActivity(
      tx,
      { actor: userActor(row.organisation_id, row.user_id), organisationId: row.organisation_id, ip, now },
      {
        action: table === "invitations" ? "invitation.accepted" : "password.reset",
        subjectType: "staff_user",
        subjectId: row.user_id,
      },
    );
    return "ok";
  });
  if (result !== "ok") throw new ApiError("gone", "This link is unknown, expired or already used.");
}

export const acceptInvitation = (deps: ApiDeps, token: string, password: string, ip: string | null) =>
  redeem(deps, "invitations", token, password, ip);
export const confirmPasswordReset = (deps: ApiDeps, token: string, password: string, ip: string | null) =>
  redeem(deps, "password_resets", token, password, ip);

/** Always succeeds from the caller's view, so it does not reveal which e-mails exist. */
export async function requestPasswordReset(deps: ApiDeps, email: string, ip: string | null) {
  const now = deps.clock.now();
  await checkLockout(deps, email, ip, now);
  const { rows } = await deps.pool.query<{ id: string; organisation_id: string }>(
    "SELECT id, organisation_id FROM staff_users WHERE email = $1 AND status = 'active' AND access_ended_at IS NULL",
    [email],
  );
  const user = rows[0];
  if (!user) return;
  // One mail a minute at most, so the endpoint cannot be used to flood someone's inbox.
  const recent = await deps.pool.query(
    "SELECT 1 FROM password_resets WHERE user_id = $1 AND created_at > $2::timestamptz - interval '1 minute'",
    [user.id, now],
  );
  if (recent.rowCount) return;
  const token = newToken("vakt_rst");
  await withTransaction(deps.pool, async (tx) => {
    await tx.query("DELETE FROM password_resets WHERE user_id = $1", [user.id]);
    await tx.query(
      `INSERT INTO password_resets (token_sha256, organisation_id, user_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [sha256(token), user.organisation_id, user.id, now, new Date(now.getTime() + RESET_TTL_MS)],
    );
    await logActivity(
      tx,
      { actor: undefined, organisationId: user.organisation_id, ip, now },
      { action: "password.reset_requested", subjectType: "staff_user", subjectId: user.id },
    );
  });
  const link = `${deps.config.PUBLIC_URL.replace(/\/$/, "")}/reset-password#token=${token}`;
  if (deps.mailer) {
    await deps.mailer.send({
      to: email,
      subject: "Vakt: choose a new password",
      text: `Someone asked to reset the password of this account. If it was you, open this link within an hour:\n\n${link}\n\nIf not, ignore this message.`,
    });
  } else {
    deps.logger.warn({ userId: user.id }, "password reset requested but no mailer is configured");
  }
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

/**
 * Turns the caller's own authenticator app off, with a current code from it. Refused for an
 * administrator whose organisation requires one; other sessions end, since whoever logged in
 * with the second factor should not keep a session opened under rules that no longer hold.
 */
export async function disableTotp(
  deps: ApiDeps,
  caller: Caller & { sessionId: string; userId: string; actor: Actor },
  code: string,
) {
  const { rows } = await deps.pool.query<{
    email: string;
    totp_secret: string | null;
    totp_last_step: string | null;
    require_admin_second_factor: boolean;
  }>(
    `SELECT u.email, u.totp_secret, u.totp_last_step, o.require_admin_second_factor
       FROM staff_users u JOIN organisations o ON o.id = u.organisation_id
      WHERE u.id = $1 AND u.organisation_id = $2 AND u.totp_enabled_at IS NOT NULL`,
    [caller.userId, caller.organisationId],
  );
  const row = rows[0];
  if (!row?.totp_secret) throw new ApiError("conflict", "No second factor is enabled.");
  const grants = caller.actor.kind === "user" ? caller.actor.grants : [];
  if (row.require_admin_second_factor && isAdministrator(grants))
    throw new ApiError("conflict", "The organisation requires a second factor for administrators.");
  await checkLockout(deps, row.email, caller.ip, caller.now, { account: true, address: false });
  const step = await checkTotp(
    row.totp_secret,
    code,
    caller.now,
    row.totp_last_step ? Number(row.totp_last_step) : null,
  );
  if (step === undefined) {
    // Counted like a wrong login code, so the form cannot be used to guess codes.
    await recordAttempt(deps, row.email, caller.ip, caller.now, false);
    throw new ApiError("validation_failed", "The code is wrong or was already used.", {
      errors: [{ path: "code", message: "wrong or already used" }],
    });
  }
  await withTransaction(deps.pool, async (tx) => {
    await tx.query(
      `UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = $2
        WHERE id = $1`,
      [caller.userId, caller.now],
    );
    await tx.query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2", [caller.userId, caller.sessionId]);
    await logActivity(tx, caller, {
      action: "second_factor.disabled",
      subjectType: "staff_user",
      subjectId: caller.userId,
    });
  });
  return { enabled: false as const };
}
