/**
 * Login with e-mail and password, and its second step (a TOTP code). The lockout that bounds
 * guessing is lockout.ts; the sessions these open are sessions.ts.
 */
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity, userActor } from "../activity/writer";
import type { SessionStage } from "../context";
import type { ApiDeps, PasswordHashingOptions } from "../deps";
import { OWASP_ARGON2ID } from "../deps";
import { ApiError } from "../errors";
import { type Grant, isAdministrator } from "../policy";
import { checkLockout, recordAttempt } from "./lockout";
import { checkTotp } from "./second-factor";
import { verifyPassword } from "./secrets";
import { createSession, type NewSession } from "./sessions";

export function hashing(deps: ApiDeps): PasswordHashingOptions {
  return deps.passwordHashing ?? OWASP_ARGON2ID;
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

type LoginMeta = { ip: string | null; userAgent: string | null };

async function findLoginUser(deps: ApiDeps, email: string): Promise<LoginUser | undefined> {
  const { rows } = await deps.pool.query<LoginUser>(
    `SELECT u.id, u.organisation_id, u.password_hash, u.status, u.access_ended_at, u.totp_enabled_at,
            o.require_admin_second_factor, o.local_password_login,
            coalesce((SELECT json_agg(json_build_object('role', g.role, 'departmentId', g.department_id))
                        FROM role_grants g WHERE g.user_id = u.id), '[]'::json) AS grants
       FROM staff_users u JOIN organisations o ON o.id = u.organisation_id
      WHERE u.email = $1`,
    [email],
  );
  return rows[0];
}

export async function login(
  deps: ApiDeps,
  input: { email: string; password: string },
  meta: LoginMeta,
): Promise<NewSession> {
  const now = deps.clock.now();
  await checkLockout(deps, input.email, meta.ip, now, { account: true, address: false });
  const user = await findLoginUser(deps, input.email);
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
  return openPasswordSession(deps, user, stage, breakGlass, now, meta);
}

/** The session a right password opens, with its log entries, in one transaction. */
function openPasswordSession(
  deps: ApiDeps,
  user: LoginUser,
  stage: SessionStage,
  breakGlass: boolean,
  now: Date,
  meta: LoginMeta,
): Promise<NewSession> {
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
