/**
 * Who a rule's steps may alert, decided by policy.ts (mayActOnAlarmsIn, roleActsOnAlarms): the
 * list the routing editor offers, and the check a rule passes when saved. One source for both,
 * so the console never offers someone the API then refuses.
 */
import { type AlertRule, type AlertTargets, roleKey, type TargetsCannotAct } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import { ApiError } from "../errors";
import { grantsOf, mayActOnAlarmsIn, roleActsOnAlarms } from "../policy";

async function ancestryOf(db: Queryable, organisationId: string, departmentId: string): Promise<string[]> {
  const { rows } = await db.query<{ ancestry: string[] }>(
    "SELECT ancestry FROM departments WHERE organisation_id = $1 AND id = $2",
    [organisationId, departmentId],
  );
  return rows[0]?.ancestry ?? [];
}

/** The roles and active users who can see and take alarms in the department (its whole subtree). */
export async function alertTargetsIn(
  db: Queryable,
  organisationId: string,
  departmentId: string,
): Promise<AlertTargets> {
  const ancestry = await ancestryOf(db, organisationId, departmentId);
  // Only users with a grant on the department, an ancestor or the organisation can reach it.
  const { rows } = await db.query<{ id: string; first_name: string; last_name: string }>(
    `SELECT DISTINCT u.id, u.first_name, u.last_name FROM staff_users u
       JOIN role_grants g ON g.organisation_id = u.organisation_id AND g.user_id = u.id
      WHERE u.organisation_id = $1 AND u.status = 'active' AND u.access_ended_at IS NULL
        AND (g.department_id IS NULL OR g.department_id = ANY($2::uuid[]))
      ORDER BY u.last_name, u.first_name, u.id`,
    [organisationId, ancestry],
  );
  const grants = await grantsOf(
    db,
    organisationId,
    rows.map((r) => r.id),
  );
  return {
    departmentId,
    roles: roleKey.options.filter(roleActsOnAlarms),
    users: rows
      .filter((r) => mayActOnAlarmsIn(grants.get(r.id)?.grants ?? [], ancestry))
      .map((r) => ({ id: r.id, firstName: r.first_name, lastName: r.last_name })),
  };
}

/**
 * Refuses steps that name roles or users who cannot see and take the rule's alarms, naming
 * all of them (detail for developers, `targetsCannotAct` for the console to word).
 */
export async function refuseTargetsWhoCannotAct(
  db: Queryable,
  organisationId: string,
  departmentId: string,
  steps: AlertRule["steps"],
): Promise<void> {
  const roles = [...new Set(steps.flatMap((s) => s.roles ?? []))].filter((r) => !roleActsOnAlarms(r));
  const userIds = [...new Set(steps.flatMap((s) => s.users ?? []))];
  const ancestry = userIds.length > 0 ? await ancestryOf(db, organisationId, departmentId) : [];
  const grants = await grantsOf(db, organisationId, userIds);
  const users = userIds
    .filter((u) => !mayActOnAlarmsIn(grants.get(u)?.grants ?? [], ancestry))
    .map((id) => ({ id, name: grants.get(id)?.name ?? id }));
  if (roles.length === 0 && users.length === 0) return;
  const said = [
    ...roles.map(
      (r) => `The role ${r} cannot see and take alarms (it lacks alarm:read or alarm:acknowledge).`,
    ),
    ...users.map(
      (u) =>
        `${u.name} (${u.id}) cannot see and take alarms in this department ` +
        "(needs alarm:read and alarm:acknowledge there).",
    ),
  ];
  const member: TargetsCannotAct = { users, roles };
  throw new ApiError("validation_failed", said.join(" "), { members: { targetsCannotAct: member } });
}
