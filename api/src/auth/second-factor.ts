/** The authenticator app (TOTP): checking a code, enrolling, and turning it off. */
import { withTransaction } from "@vakt/storage";
import { generateSecret, generateURI, verify as verifyTotp } from "otplib";
import { type Caller, logActivity } from "../activity/writer";
import type { SessionStage } from "../context";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, isAdministrator } from "../policy";
import { checkLockout, recordAttempt } from "./lockout";
import { createSession, type NewSession } from "./sessions";

export async function checkTotp(secret: string, code: string, now: Date, afterTimeStep: number | null) {
  const result = await verifyTotp({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: 30,
    ...(afterTimeStep !== null ? { afterTimeStep } : {}),
  });
  return result.valid && "timeStep" in result ? result.timeStep : undefined;
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
