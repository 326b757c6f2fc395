import {
  e164Suggestion,
  isE164,
  type Profile,
  type RoleKey,
  type StaffUser,
  soundPrefs,
} from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import { createInvitation } from "../auth/service";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments, type Grant, mayGrant, reach } from "../policy";
import { changeSet, found, inAllowed, iso } from "../service-helpers";

type ActorCaller = Caller & { actor: Actor };

interface UserRow {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  status: "active" | "disabled";
  totp_enabled_at: Date | null;
  last_login_at: Date | null;
  grants: Grant[];
}
const SELECT_USERS = `
  SELECT u.id, u.email, u.first_name, u.last_name, u.phone, u.status, u.totp_enabled_at, u.last_login_at,
         coalesce((SELECT json_agg(json_build_object('role', g.role, 'departmentId', g.department_id)
                                   ORDER BY g.role, g.department_id)
                     FROM role_grants g WHERE g.user_id = u.id), '[]'::json) AS grants
    FROM staff_users u`;

const toUser = (r: UserRow): StaffUser => ({
  id: r.id,
  email: r.email,
  firstName: r.first_name,
  lastName: r.last_name,
  phone: r.phone,
  // A number kept from before the check: shown as needing correction, never normalised here unseen.
  phoneNeedsCorrection: r.phone !== null && !isE164(r.phone),
  phoneSuggestion: r.phone !== null && !isE164(r.phone) ? e164Suggestion(r.phone) : null,
  status: r.status,
  secondFactorEnabled: r.totp_enabled_at !== null,
  lastLoginAt: iso(r.last_login_at),
  grants: r.grants,
});

/**
 * Users visible to someone whose permission reaches these departments: those
 * with a grant inside them. Users with organisation-wide grants are visible
 * only to callers whose permission covers the whole organisation.
 */
function scopeSql(wholeOrganisation: boolean) {
  return wholeOrganisation
    ? "u.organisation_id = $1 AND cardinality($2::uuid[]) >= 0"
    : `u.organisation_id = $1 AND EXISTS (SELECT 1 FROM role_grants g WHERE g.user_id = u.id AND g.department_id = ANY($2::uuid[]))`;
}

export async function listUsers(deps: ApiDeps, caller: ActorCaller) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "user:read");
  const whole = reach(caller.actor, "user:read").wholeOrganisation;
  const { rows } = await deps.pool.query<UserRow>(
    `${SELECT_USERS} WHERE ${scopeSql(whole)} ORDER BY u.last_name, u.first_name`,
    [caller.organisationId, allowed],
  );
  return rows.map(toUser);
}

export async function getUser(deps: ApiDeps, caller: ActorCaller, id: string) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "user:read");
  const whole = reach(caller.actor, "user:read").wholeOrganisation;
  const { rows } = await deps.pool.query<UserRow>(`${SELECT_USERS} WHERE ${scopeSql(whole)} AND u.id = $3`, [
    caller.organisationId,
    allowed,
    id,
  ]);
  return toUser(found(rows[0], "user"));
}

/** Grants the caller may hand out: inside their user:manage reach; organisation-wide ones need it everywhere. */
function checkGrantable(
  grants: readonly { role: RoleKey; departmentId: string | null }[],
  allowed: string[],
  whole: boolean,
) {
  for (const g of grants) {
    if (g.role === "org_admin" && g.departmentId !== null) {
      throw new ApiError(
        "validation_failed",
        "The organisation administrator role covers the whole organisation.",
        {
          errors: [{ path: "grants", message: "org_admin needs departmentId null" }],
        },
      );
    }
    if (g.departmentId === null && !whole) {
      throw new ApiError(
        "forbidden",
        "Only organisation administrators grant roles over the whole organisation.",
      );
    }
    // `allowed` lists every department of the organisation when the reach is whole.
    if (g.departmentId !== null) inAllowed(allowed, g.departmentId);
  }
}

/** A user the caller may change: every grant they hold is within the caller's reach. */
async function lockManageable(
  tx: Queryable,
  caller: ActorCaller,
  allowed: string[],
  whole: boolean,
  id: string,
) {
  const row = found(
    (
      await tx.query<UserRow>(`${SELECT_USERS} WHERE ${scopeSql(whole)} AND u.id = $3 FOR UPDATE OF u`, [
        caller.organisationId,
        allowed,
        id,
      ])
    ).rows[0],
    "user",
  );
  if (!whole && row.grants.some((g) => g.departmentId === null || !allowed.includes(g.departmentId))) {
    throw new ApiError("forbidden", "This user also holds grants outside the departments you manage.");
  }
  return row;
}

const grantKey = (g: Grant) => `${g.role}:${g.departmentId}`;

/** Every grant added or removed must be one the caller could hand out themself. */
async function checkBoundedByCaller(db: Queryable, caller: ActorCaller, before: Grant[], after: Grant[]) {
  const had = new Set(before.map(grantKey));
  const will = new Set(after.map(grantKey));
  const changed = [
    ...after.filter((g) => !had.has(grantKey(g))),
    ...before.filter((g) => !will.has(grantKey(g))),
  ];
  for (const g of changed) {
    if (!(await mayGrant(db, caller.actor, g))) {
      throw new ApiError(
        "forbidden",
        `You may grant only roles whose permissions you hold yourself there (${g.role}).`,
      );
    }
  }
}

async function replaceGrants(tx: Queryable, caller: ActorCaller, userId: string, grants: Grant[]) {
  await tx.query("DELETE FROM role_grants WHERE organisation_id = $1 AND user_id = $2", [
    caller.organisationId,
    userId,
  ]);
  const grantedBy = caller.actor.kind === "user" ? caller.actor.userId : null;
  const unique = [...new Map(grants.map((g) => [`${g.role}:${g.departmentId}`, g])).values()];
  for (const g of unique) {
    await tx.query(
      "INSERT INTO role_grants (organisation_id, user_id, role, department_id, granted_by) VALUES ($1, $2, $3, $4, $5)",
      [caller.organisationId, userId, g.role, g.departmentId, grantedBy],
    );
  }
}

export async function createUser(
  deps: ApiDeps,
  caller: ActorCaller,
  input: { email: string; firstName: string; lastName: string; phone?: string | undefined; grants: Grant[] },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "user:manage");
  const whole = reach(caller.actor, "user:manage").wholeOrganisation;
  checkGrantable(input.grants, allowed, whole);
  await checkBoundedByCaller(deps.pool, caller, [], input.grants);
  const result = await withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO staff_users (organisation_id, email, first_name, last_name, phone, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
      [caller.organisationId, input.email, input.firstName, input.lastName, input.phone ?? null, caller.now],
    );
    const id = found(rows[0], "user").id;
    await replaceGrants(tx, caller, id, input.grants);
    const invitation = await createInvitation(
      tx,
      caller.organisationId,
      id,
      caller.actor.kind === "user" ? caller.actor.userId : null,
      caller.now,
    );
    await logActivity(tx, caller, {
      action: "user.created",
      subjectType: "staff_user",
      subjectId: id,
      details: { grants: input.grants },
    });
    const user = toUser(
      found((await tx.query<UserRow>(`${SELECT_USERS} WHERE u.id = $1`, [id])).rows[0], "user"),
    );
    return {
      user,
      invitationToken: invitation.token,
      invitationExpiresAt: invitation.expiresAt.toISOString(),
    };
  });
  if (deps.mailer) {
    const link = `${deps.config.PUBLIC_URL.replace(/\/$/, "")}/invitation#token=${result.invitationToken}`;
    await deps.mailer.send({
      to: input.email,
      subject: "Vakt: you have been invited",
      text: `Choose your password within 7 days:\n\n${link}\n`,
    });
  }
  return result;
}

export async function updateUser(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  input: {
    firstName?: string;
    lastName?: string;
    phone?: string | null;
    status?: "active" | "disabled";
    grants?: Grant[];
    resetSecondFactor?: true;
  },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "user:manage");
  const whole = reach(caller.actor, "user:manage").wholeOrganisation;
  if (input.grants) checkGrantable(input.grants, allowed, whole);
  if (input.grants && caller.actor.kind === "user" && caller.actor.userId === id) {
    throw new ApiError("forbidden", "Nobody changes their own roles or grants; ask another administrator.");
  }
  return withTransaction(deps.pool, async (tx) => {
    const before = toUser(await lockManageable(tx, caller, allowed, whole, id));
    if (input.grants) await checkBoundedByCaller(tx, caller, before.grants, input.grants);
    await tx.query(
      `UPDATE staff_users SET first_name = coalesce($3, first_name), last_name = coalesce($4, last_name),
              phone = CASE WHEN $5::boolean THEN $6 ELSE phone END, status = coalesce($7, status), updated_at = $8
        WHERE organisation_id = $1 AND id = $2`,
      [
        caller.organisationId,
        id,
        input.firstName ?? null,
        input.lastName ?? null,
        input.phone !== undefined,
        input.phone ?? null,
        input.status ?? null,
        caller.now,
      ],
    );
    if (input.grants) await replaceGrants(tx, caller, id, input.grants);
    // Disabling or changing grants ends the user's sessions, so it takes effect at once.
    if (input.resetSecondFactor) {
      await tx.query(
        "UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1",
        [id],
      );
    }
    if (input.status === "disabled" || input.resetSecondFactor) {
      await tx.query("DELETE FROM sessions WHERE user_id = $1", [id]);
    }
    const after = toUser(
      found((await tx.query<UserRow>(`${SELECT_USERS} WHERE u.id = $1`, [id])).rows[0], "user"),
    );
    await logActivity(tx, caller, {
      action: "user.updated",
      subjectType: "staff_user",
      subjectId: id,
      details: {
        changes: changeSet(before, after, ["firstName", "lastName", "phone", "email"]),
        ...(input.resetSecondFactor ? { secondFactorReset: true } : {}),
      },
    });
    return after;
  });
}

/** The caller's own profile: phone (for the SMS channel) and alarm sound. */
export async function getProfile(deps: ApiDeps, caller: Caller & { userId: string }): Promise<Profile> {
  const { rows } = await deps.pool.query<{ phone: string | null; sound_prefs: unknown }>(
    "SELECT phone, sound_prefs FROM staff_users WHERE organisation_id = $1 AND id = $2",
    [caller.organisationId, caller.userId],
  );
  const u = found(rows[0], "user");
  // A stored value the schema no longer accepts reads as never set, not as an error.
  const sound = soundPrefs.safeParse(u.sound_prefs);
  return { phone: u.phone, sound: sound.success ? sound.data : null };
}

export async function updateProfile(
  deps: ApiDeps,
  caller: Caller & { userId: string },
  input: { phone?: string | null | undefined; sound?: Profile["sound"] | undefined },
): Promise<Profile> {
  await withTransaction(deps.pool, async (tx) => {
    const before = (
      await tx.query<{ phone: string | null }>(
        "SELECT phone FROM staff_users WHERE organisation_id = $1 AND id = $2 FOR UPDATE",
        [caller.organisationId, caller.userId],
      )
    ).rows[0];
    found(before, "user");
    await tx.query(
      `UPDATE staff_users SET phone = CASE WHEN $3::boolean THEN $4 ELSE phone END,
              sound_prefs = CASE WHEN $5::boolean THEN $6::jsonb ELSE sound_prefs END, updated_at = $7
        WHERE organisation_id = $1 AND id = $2`,
      [
        caller.organisationId,
        caller.userId,
        input.phone !== undefined,
        input.phone ?? null,
        input.sound !== undefined,
        input.sound === undefined ? null : JSON.stringify(input.sound),
        caller.now,
      ],
    );
    // The phone is personal: logged as changed without its value; sound settings are not personal.
    if (input.phone !== undefined && input.phone !== before?.phone) {
      await logActivity(tx, caller, {
        action: "user.updated",
        subjectType: "staff_user",
        subjectId: caller.userId,
        details: { changes: { phone: { before: "(personal)", after: "(personal)" } }, own: true },
      });
    }
  });
  return getProfile(deps, caller);
}
