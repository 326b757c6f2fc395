/**
 * The one place that decides who may do what on which department.
 *
 * A permission is held through a role grant on a department (covering its
 * whole subtree) or on the whole organisation. `allowedDepartments` turns the
 * caller's grants into the explicit list of department ids where a permission
 * holds; services put that list into every query (`department_id = ANY($n)`),
 * so a route that forgot a check still cannot read outside it.
 */
import { type Permission, permissions, type RoleKey, type TokenPermission } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";

export { type Permission, permissions } from "@vakt/schemas";

/** Permissions whose scope is the organisation as a whole, not a department. */
const organisationWide = new Set<Permission>(["organisation:manage", "token:manage"]);

export const rolePermissions: Record<RoleKey, readonly Permission[]> = {
  org_admin: [
    "organisation:read",
    "organisation:manage",
    "department:read",
    "department:manage",
    "user:read",
    "user:manage",
    "recipient:read",
    "recipient:details",
    "recipient:manage",
    "device:read",
    "device:manage",
    "device:configure",
    "geofence:manage",
    "position:read",
    "position:locate",
    "alarm:read",
    "alarm:acknowledge",
    "routing:manage",
    "activity:read",
    "token:manage",
  ],
  dept_admin: [
    "organisation:read",
    "department:read",
    "department:manage",
    "user:read",
    "user:manage",
    "recipient:read",
    "recipient:details",
    "recipient:manage",
    "device:read",
    "device:manage",
    "device:configure",
    "geofence:manage",
    "routing:manage",
  ],
  operator: [
    "organisation:read",
    "department:read",
    "recipient:read",
    "recipient:details",
    "device:read",
    "device:configure",
    "geofence:manage",
    "position:read",
    "alarm:read",
    "alarm:acknowledge",
  ],
  locator: ["organisation:read", "department:read", "recipient:read", "position:locate"],
  auditor: [
    "organisation:read",
    "department:read",
    "user:read",
    "recipient:read",
    "recipient:details",
    "activity:read",
  ],
};

/**
 * Whether the caller may send a locate command. API tokens are read-only:
 * position:read does not let them command a device, only an explicit device:locate does.
 */
export function mayLocate(actor: Actor): boolean {
  if (actor.kind === "api_token") return holds(actor, "device:locate");
  return holds(actor, "position:read") || holds(actor, "position:locate");
}

/** Roles that count as administrators for the organisation's second-factor rule. */
export const adminRoles: readonly RoleKey[] = ["org_admin", "dept_admin"];

export interface Grant {
  role: RoleKey;
  /** null: the whole organisation. */
  departmentId: string | null;
}

export type Actor =
  | {
      kind: "user";
      organisationId: string;
      userId: string;
      sessionId: string;
      grants: Grant[];
    }
  | {
      kind: "api_token";
      organisationId: string;
      tokenId: string;
      permissions: TokenPermission[];
      /** null: the whole organisation. */
      departmentIds: string[] | null;
      pseudonymous: boolean;
    };

/** Where a permission holds: the whole organisation, or these subtree roots. */
export interface Reach {
  wholeOrganisation: boolean;
  roots: string[];
}

export function reach(actor: Actor, permission: Permission): Reach {
  if (actor.kind === "api_token") {
    if (!(actor.permissions as readonly string[]).includes(permission))
      return { wholeOrganisation: false, roots: [] };
    return actor.departmentIds === null
      ? { wholeOrganisation: true, roots: [] }
      : { wholeOrganisation: false, roots: [...actor.departmentIds] };
  }
  let whole = false;
  const roots = new Set<string>();
  for (const g of actor.grants) {
    if (!rolePermissions[g.role].includes(permission)) continue;
    if (g.departmentId === null) whole = true;
    else if (!organisationWide.has(permission)) roots.add(g.departmentId);
  }
  return { wholeOrganisation: whole, roots: whole ? [] : [...roots] };
}

/** Whether the caller holds the permission anywhere at all (the route-level check). */
export function holds(actor: Actor, permission: Permission): boolean {
  const r = reach(actor, permission);
  return r.wholeOrganisation || r.roots.length > 0;
}

export function permissionsOf(actor: Actor): Permission[] {
  return permissions.filter((p) => holds(actor, p));
}

/**
 * The department ids (whole subtrees, open or closed) where the caller holds
 * the permission, always within the caller's organisation.
 */
export async function allowedDepartments(
  db: Queryable,
  actor: Actor,
  permission: Permission,
): Promise<string[]> {
  const r = reach(actor, permission);
  if (!r.wholeOrganisation && r.roots.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM departments
      WHERE organisation_id = $1 AND ($2::boolean OR ancestry && $3::uuid[])`,
    [actor.organisationId, r.wholeOrganisation, r.roots],
  );
  return rows.map((row) => row.id);
}

/**
 * Whether the caller may be shown what a device in a department said (a refused message, its
 * transactions log, an error's words that quote them): that is mostly the wearer's position, so
 * only where the caller may read positions. Managing the device is not enough.
 */
export async function deviceTextReadable(
  db: Queryable,
  actor: Actor,
): Promise<(departmentId: string) => boolean> {
  const readable = new Set(await allowedDepartments(db, actor, "position:read"));
  return (departmentId) => readable.has(departmentId);
}

/** Whether the caller may use a session holding these grants only after a second factor. */
export function isAdministrator(grants: readonly Grant[]): boolean {
  return grants.some((g) => adminRoles.includes(g.role));
}

/**
 * Whether the caller may hand out (or take away) this grant: they hold
 * user:manage there and every permission the role carries, on that department
 * (its subtree) or, for an organisation-wide grant, over the whole
 * organisation. So nobody grants more than they hold (api/README.md, "Who may grant what").
 */
export async function mayGrant(db: Queryable, actor: Actor, grant: Grant): Promise<boolean> {
  const needed = new Set<Permission>(["user:manage", ...rolePermissions[grant.role]]);
  for (const p of needed) {
    if (grant.departmentId === null) {
      if (!reach(actor, p).wholeOrganisation) return false;
    } else if (!(await allowedDepartments(db, actor, p)).includes(grant.departmentId)) {
      return false;
    }
  }
  return true;
}

/**
 * Where the caller may read recipients' call lists (names and phone numbers of
 * next of kin): where they read the recipient and take its alarms (operators,
 * responders), or manage recipients (administrators, who keep the list).
 * API tokens never: no token permission carries other people's phone numbers.
 */
export async function contactReadDepartments(db: Queryable, actor: Actor): Promise<string[]> {
  if (actor.kind !== "user") return [];
  const read = await allowedDepartments(db, actor, "recipient:read");
  const take = await allowedDepartments(db, actor, "alarm:acknowledge");
  const manage = await allowedDepartments(db, actor, "recipient:manage");
  const takeSet = new Set(take);
  return [...new Set([...read.filter((d) => takeSet.has(d)), ...manage])];
}

/** Where the caller may change call lists: where they manage recipients (people only). */
export async function contactManageDepartments(db: Queryable, actor: Actor): Promise<string[]> {
  if (actor.kind !== "user") return [];
  return allowedDepartments(db, actor, "recipient:manage");
}

/** What it takes to act on an alarm a rule sends someone: see it and take it. */
export const ACT_ON_ALARM: readonly Permission[] = ["alarm:read", "alarm:acknowledge"];

/** Whether a role, wherever granted, lets its holders see and take alarms. */
export function roleActsOnAlarms(role: RoleKey): boolean {
  return ACT_ON_ALARM.every((p) => rolePermissions[role].includes(p));
}

/**
 * Whether a user with these grants may see and take alarms in the department
 * with this ancestry (its ids from the root down to itself): both permissions
 * reach it, from a grant on the organisation or on one of its ancestors.
 */
export function mayActOnAlarmsIn(grants: readonly Grant[], ancestry: readonly string[]): boolean {
  return ACT_ON_ALARM.every((p) =>
    grants.some(
      (g) =>
        rolePermissions[g.role].includes(p) && (g.departmentId === null || ancestry.includes(g.departmentId)),
    ),
  );
}

/** The role grants and display names of these users of the organisation, by user id. */
export async function grantsOf(
  db: Queryable,
  organisationId: string,
  userIds: readonly string[],
): Promise<Map<string, { name: string; grants: Grant[] }>> {
  const { rows } = await db.query<{
    id: string;
    name: string;
    role: RoleKey | null;
    department_id: string | null;
  }>(
    `SELECT u.id, u.first_name || ' ' || u.last_name AS name, g.role, g.department_id
       FROM staff_users u
       LEFT JOIN role_grants g ON g.organisation_id = u.organisation_id AND g.user_id = u.id
      WHERE u.organisation_id = $1 AND u.id = ANY($2::uuid[])`,
    [organisationId, userIds],
  );
  const out = new Map<string, { name: string; grants: Grant[] }>();
  for (const r of rows) {
    const entry = out.get(r.id) ?? { name: r.name, grants: [] };
    if (r.role) entry.grants.push({ role: r.role, departmentId: r.department_id });
    out.set(r.id, entry);
  }
  return out;
}
