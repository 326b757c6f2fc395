import type { TokenPermission } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import { TOKEN_PREFIX } from "../auth/middleware";
import { newToken, sha256 } from "../auth/secrets";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import type { Actor } from "../policy";
import { found, iso } from "../service-helpers";

type ActorCaller = Caller & { actor: Actor };

interface TokenRow {
  id: string;
  name: string;
  permissions: TokenPermission[];
  department_ids: string[] | null;
  pseudonymous: boolean;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}
const COLUMNS =
  "id, name, permissions, department_ids, pseudonymous, created_at, expires_at, last_used_at, revoked_at";
const toToken = (r: TokenRow) => ({
  id: r.id,
  name: r.name,
  permissions: r.permissions,
  departmentIds: r.department_ids,
  pseudonymous: r.pseudonymous,
  createdAt: r.created_at.toISOString(),
  expiresAt: iso(r.expires_at),
  lastUsedAt: iso(r.last_used_at),
  revokedAt: iso(r.revoked_at),
});

export async function listTokens(deps: ApiDeps, caller: ActorCaller) {
  const { rows } = await deps.pool.query<TokenRow>(
    `SELECT ${COLUMNS} FROM api_tokens WHERE organisation_id = $1 ORDER BY created_at DESC`,
    [caller.organisationId],
  );
  return rows.map(toToken);
}

export async function createToken(
  deps: ApiDeps,
  caller: ActorCaller,
  input: {
    name: string;
    permissions: TokenPermission[];
    departmentIds: string[] | null;
    pseudonymous: boolean;
    expiresAt?: string | null | undefined;
  },
) {
  const secret = newToken(TOKEN_PREFIX);
  return withTransaction(deps.pool, async (tx) => {
    if (input.departmentIds) {
      const { rows } = await tx.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM departments WHERE organisation_id = $1 AND id = ANY($2::uuid[])",
        [caller.organisationId, input.departmentIds],
      );
      if (rows[0]?.n !== new Set(input.departmentIds).size)
        throw new ApiError("not_found", "No such department.");
    }
    const { rows } = await tx.query<TokenRow>(
      `INSERT INTO api_tokens (organisation_id, name, token_sha256, permissions, department_ids, pseudonymous,
         created_by, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        caller.organisationId,
        input.name,
        sha256(secret),
        [...new Set(input.permissions)],
        input.departmentIds,
        input.pseudonymous,
        caller.actor.kind === "user" ? caller.actor.userId : null,
        caller.now,
        input.expiresAt ?? null,
      ],
    );
    const token = toToken(found(rows[0], "token"));
    await logActivity(tx, caller, {
      action: "token.created",
      subjectType: "api_token",
      subjectId: token.id,
      details: {
        permissions: token.permissions,
        departmentIds: token.departmentIds,
        pseudonymous: token.pseudonymous,
      },
    });
    return { token, secret };
  });
}

export async function revokeToken(deps: ApiDeps, caller: ActorCaller, id: string) {
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<TokenRow>(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $3) WHERE organisation_id = $1 AND id = $2
       RETURNING ${COLUMNS}`,
      [caller.organisationId, id, caller.now],
    );
    const token = toToken(found(rows[0], "token"));
    await logActivity(tx, caller, { action: "token.revoked", subjectType: "api_token", subjectId: id });
    return token;
  });
}
