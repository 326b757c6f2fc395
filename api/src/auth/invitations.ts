/** Invitations and password resets: a token by e-mail that lets its holder choose a password. */
import type { Queryable } from "@vakt/storage";
import { withTransaction } from "@vakt/storage";
import { logActivity, userActor } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { checkLockout } from "./lockout";
import { hashing } from "./login";
import { checkPasswordStrength } from "./password-strength";
import { hashPassword, newToken, sha256 } from "./secrets";

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60_000;
export const RESET_TTL_MS = 60 * 60_000;

/** Creates an invitation for a user (deleting earlier ones); returns the token, shown once. */
export async function createInvitation(
  db: Queryable,
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
