import { withTransaction } from "@vakt/storage";
import type pg from "pg";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { changeSet, found } from "../service-helpers";

interface OrgRow {
  id: string;
  name: string;
  slug: string;
  time_zone: string;
  require_admin_second_factor: boolean;
}
const toOrganisation = (r: OrgRow) => ({
  id: r.id,
  name: r.name,
  slug: r.slug,
  timeZone: r.time_zone,
  requireAdminSecondFactor: r.require_admin_second_factor,
});

export async function getOrganisation(deps: ApiDeps, caller: Caller) {
  const { rows } = await deps.pool.query<OrgRow>(
    "SELECT id, name, slug, time_zone, require_admin_second_factor FROM organisations WHERE id = $1",
    [caller.organisationId],
  );
  return toOrganisation(found(rows[0], "organisation"));
}

export async function updateOrganisation(
  deps: ApiDeps,
  caller: Caller,
  input: { name?: string; timeZone?: string; requireAdminSecondFactor?: boolean },
) {
  if (input.timeZone !== undefined && !Intl.supportedValuesOf("timeZone").includes(input.timeZone)) {
    throw new ApiError("validation_failed", "Unknown time zone.", {
      errors: [{ path: "timeZone", message: "an IANA time zone such as Europe/Oslo" }],
    });
  }
  return withTransaction(deps.pool, async (tx) => {
    const before = toOrganisation(
      found(
        (
          await tx.query<OrgRow>(
            "SELECT id, name, slug, time_zone, require_admin_second_factor FROM organisations WHERE id = $1 FOR UPDATE",
            [caller.organisationId],
          )
        ).rows[0],
        "organisation",
      ),
    );
    const { rows } = await tx.query<OrgRow>(
      `UPDATE organisations SET name = coalesce($2, name), time_zone = coalesce($3, time_zone),
              require_admin_second_factor = coalesce($4, require_admin_second_factor)
        WHERE id = $1 RETURNING id, name, slug, time_zone, require_admin_second_factor`,
      [
        caller.organisationId,
        input.name ?? null,
        input.timeZone ?? null,
        input.requireAdminSecondFactor ?? null,
      ],
    );
    const after = toOrganisation(found(rows[0], "organisation"));
    await logActivity(tx, caller, {
      action: "organisation.updated",
      subjectType: "organisation",
      subjectId: caller.organisationId,
      details: { changes: changeSet(before, after) },
    });
    return after;
  });
}

/**
 * Creates an organisation with its first administrator (no password yet: the
 * returned invitation token sets it). For operators of a Vakt installation
 * (CLI, seed), not an HTTP route: organisations do not create each other.
 */
export async function createOrganisation(
  pool: pg.Pool,
  input: {
    name: string;
    slug: string;
    admin: { email: string; firstName: string; lastName: string; passwordHash?: string };
    requireAdminSecondFactor?: boolean;
    now?: Date;
  },
) {
  const now = input.now ?? new Date();
  return withTransaction(pool, async (tx) => {
    const org = (
      await tx.query<{ id: string }>(
        "INSERT INTO organisations (name, slug, require_admin_second_factor) VALUES ($1, $2, $3) RETURNING id",
        [input.name, input.slug, input.requireAdminSecondFactor ?? true],
      )
    ).rows[0];
    if (!org) throw new Error("organisation insert returned nothing");
    const admin = (
      await tx.query<{ id: string }>(
        `INSERT INTO staff_users (organisation_id, email, first_name, last_name, password_hash)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [
          org.id,
          input.admin.email.toLowerCase(),
          input.admin.firstName,
          input.admin.lastName,
          input.admin.passwordHash ?? null,
        ],
      )
    ).rows[0];
    if (!admin) throw new Error("user insert returned nothing");
    await tx.query("INSERT INTO role_grants (organisation_id, user_id, role) VALUES ($1, $2, 'org_admin')", [
      org.id,
      admin.id,
    ]);
    await logActivity(
      tx,
      { actor: undefined, organisationId: org.id, ip: null, now },
      {
        action: "organisation.created",
        subjectType: "organisation",
        subjectId: org.id,
        details: { adminId: admin.id },
      },
    );
    const { createInvitation } = await import("../auth/service");
    const invitation = input.admin.passwordHash
      ? null
      : await createInvitation(tx, org.id, admin.id, null, now);
    return { organisationId: org.id, adminUserId: admin.id, invitation };
  });
}
