import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments, reach } from "../policy";
import { found, inAllowed, iso } from "../service-helpers";

interface DeptRow {
  id: string;
  parent_id: string | null;
  name: string;
  ancestry: string[];
  closed_at: Date | null;
}
const COLUMNS = "id, parent_id, name, ancestry, closed_at";
const toDepartment = (r: DeptRow) => ({
  id: r.id,
  parentId: r.parent_id,
  name: r.name,
  ancestry: r.ancestry,
  closedAt: iso(r.closed_at),
});

type ActorCaller = Caller & { actor: Actor };

export async function listDepartments(deps: ApiDeps, caller: ActorCaller) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "department:read");
  const { rows } = await deps.pool.query<DeptRow>(
    `SELECT ${COLUMNS} FROM departments WHERE organisation_id = $1 AND id = ANY($2::uuid[])
      ORDER BY array_length(ancestry, 1), name`,
    [caller.organisationId, allowed],
  );
  return rows.map(toDepartment);
}

/** Top-level departments need the permission over the whole organisation. */
function checkParent(caller: ActorCaller, allowed: string[], parentId: string | null) {
  if (parentId === null) {
    if (!reach(caller.actor, "department:manage").wholeOrganisation) {
      throw new ApiError(
        "forbidden",
        "Only organisation administrators create or move top-level departments.",
      );
    }
  } else inAllowed(allowed, parentId, "parent department");
}

export async function createDepartment(
  deps: ApiDeps,
  caller: ActorCaller,
  input: { name: string; parentId: string | null },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "department:manage");
  checkParent(caller, allowed, input.parentId);
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<DeptRow>(
      `WITH fresh AS (SELECT gen_random_uuid() AS id)
       INSERT INTO departments (id, organisation_id, parent_id, name, ancestry)
       SELECT fresh.id, $1, $2, $3,
              coalesce((SELECT ancestry FROM departments WHERE organisation_id = $1 AND id = $2), '{}') || fresh.id
         FROM fresh
       RETURNING ${COLUMNS}`,
      [caller.organisationId, input.parentId, input.name],
    );
    const d = toDepartment(found(rows[0], "department"));
    await logActivity(tx, caller, {
      action: "department.created",
      subjectType: "department",
      subjectId: d.id,
      details: { parentId: d.parentId, name: d.name },
    });
    return d;
  });
}

export async function updateDepartment(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  input: { name?: string; parentId?: string | null },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "department:manage");
  inAllowed(allowed, id);
  if (input.parentId !== undefined) checkParent(caller, allowed, input.parentId);
  return withTransaction(deps.pool, async (tx) => {
    const before = found(
      (
        await tx.query<DeptRow>(
          `SELECT ${COLUMNS} FROM departments WHERE organisation_id = $1 AND id = $2 FOR UPDATE`,
          [caller.organisationId, id],
        )
      ).rows[0],
      "department",
    );
    if (input.name !== undefined) {
      await tx.query("UPDATE departments SET name = $3 WHERE organisation_id = $1 AND id = $2", [
        caller.organisationId,
        id,
        input.name,
      ]);
    }
    if (input.parentId !== undefined && input.parentId !== before.parent_id) {
      // The new parent's ancestry, read under lock; containing `id` means a cycle.
      let parentAncestry: string[] = [];
      if (input.parentId !== null) {
        const p = found(
          (
            await tx.query<{ ancestry: string[] }>(
              "SELECT ancestry FROM departments WHERE organisation_id = $1 AND id = $2 FOR UPDATE",
              [caller.organisationId, input.parentId],
            )
          ).rows[0],
          "parent department",
        );
        if (p.ancestry.includes(id)) {
          throw new ApiError("conflict", "A department cannot move into itself or its own sub-department.");
        }
        parentAncestry = p.ancestry;
      }
      // One statement rewrites the ancestry of the whole subtree: the new
      // parent's path followed by each row's path from the moved department down.
      await tx.query(
        `UPDATE departments d
            SET ancestry = $3::uuid[] || d.ancestry[array_position(d.ancestry, $2::uuid):],
                parent_id = CASE WHEN d.id = $2 THEN $4::uuid ELSE d.parent_id END
          WHERE d.organisation_id = $1 AND $2::uuid = ANY(d.ancestry)`,
        [caller.organisationId, id, parentAncestry, input.parentId],
      );
    }
    const after = found(
      (await tx.query<DeptRow>(`SELECT ${COLUMNS} FROM departments WHERE id = $1`, [id])).rows[0],
      "department",
    );
    await logActivity(tx, caller, {
      action: "department.updated",
      subjectType: "department",
      subjectId: id,
      details: {
        changes: {
          ...(before.name !== after.name ? { name: { before: before.name, after: after.name } } : {}),
          ...(before.parent_id !== after.parent_id
            ? { parentId: { before: before.parent_id, after: after.parent_id } }
            : {}),
        },
      },
    });
    return toDepartment(after);
  });
}

/** Closes a department and its sub-departments; refused while active recipients or devices remain. */
export async function closeDepartment(deps: ApiDeps, caller: ActorCaller, id: string) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "department:manage");
  inAllowed(allowed, id);
  return withTransaction(deps.pool, async (tx) => {
    // Locked first: an insert into one of them (whose guard reads its department FOR SHARE) either
    // commits before this counts, or waits and is refused once the department is closed (migration 0281).
    await tx.query(
      "SELECT id FROM departments WHERE organisation_id = $1 AND $2::uuid = ANY(ancestry) FOR UPDATE",
      [caller.organisationId, id],
    );
    const { rows: busy } = await tx.query<{ recipients: number; devices: number }>(
      `WITH subtree AS (SELECT id FROM departments WHERE organisation_id = $1 AND $2::uuid = ANY(ancestry))
       SELECT (SELECT count(*)::int FROM recipients WHERE organisation_id = $1 AND status = 'active'
                 AND department_id IN (SELECT id FROM subtree)) AS recipients,
              (SELECT count(*)::int FROM devices WHERE organisation_id = $1 AND retired_at IS NULL
                 AND department_id IN (SELECT id FROM subtree)) AS devices`,
      [caller.organisationId, id],
    );
    const b = busy[0];
    if (b && (b.recipients > 0 || b.devices > 0)) {
      throw new ApiError(
        "conflict",
        `Move or end its ${b.recipients} active recipient(s) and ${b.devices} device(s) before closing.`,
      );
    }
    const { rows } = await tx.query<{ id: string }>(
      `UPDATE departments SET closed_at = $3
        WHERE organisation_id = $1 AND $2::uuid = ANY(ancestry) AND closed_at IS NULL RETURNING id`,
      [caller.organisationId, id, caller.now],
    );
    await logActivity(tx, caller, {
      action: "department.closed",
      subjectType: "department",
      subjectId: id,
      details: { closed: rows.map((r) => r.id) },
    });
    return toDepartment(
      found(
        (await tx.query<DeptRow>(`SELECT ${COLUMNS} FROM departments WHERE id = $1`, [id])).rows[0],
        "department",
      ),
    );
  });
}
