/**
 * The one place that decides who may do what on which department.
 *
 * A permission is held through a role grant on a department (covering its
 * whole subtree) or on the whole organisation. `allowedDepartments` turns the
 * caller's grants into the explicit list of department ids where a permission
 * holds; services put that list into every query (`department_id = ANY($n)`),
 * so a route that forgot a check still cannot read outside it.
 */
import type { RoleKey, TokenPermission } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";

export const permissions = [
  "organisation:read",
  "organisation:manage",
  "department:read",
  "department:manage",
  "user:read",
  "user:manage",
  "recipient:read",
  /** A recipient's birth date, responder notes and legal-basis reference (not locators: they see the minimum). */
  "recipient:details",
  "recipient:manage",
  "device:read",
  "device:manage",
  "device:configure",
  "geofence:manage",
  "position:read",
  /** Look up a position only, giving a reason each time (locators). */
  "position:locate",
  "alarm:read",
  "alarm:acknowledge",
  /**
   * Ask a device for its position: held by no role (people locate through
   * position:read or position:locate); an API token needs it granted explicitly.
   */
  "device:locate",
  /** Alert routing: rules, escalation steps and endpoints of a department. */
  "routing:manage",
  "activity:read",
  "token:manage",
] as const;
export type Permission = (typeof permissions)[number];

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
