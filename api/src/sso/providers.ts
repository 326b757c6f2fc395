/**
 * Single sign-on providers and their group-to-grant rules (organisation:manage), the organisation's
 * login settings, and which provider an e-mail address signs in with (login.ts does the login).
 */
import type {
  LoginSettings,
  SsoMappingRule,
  SsoProvider,
  ssoProviderCreate,
  ssoProviderUpdate,
} from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import type { z } from "zod";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { assertOutboundUrl } from "../outbound";
import { changeSet, found, isoRequired } from "../service-helpers";
import { callbackUrl, PROVIDER_COLUMNS, type ProviderRow } from "./relying-party";

// ---------------------------------------------------------------------------
// Provider configuration (organisation:manage)

function toProvider(deps: ApiDeps, r: ProviderRow): SsoProvider {
  return {
    id: r.id,
    displayName: r.display_name,
    issuer: r.issuer,
    clientId: r.client_id,
    hasClientSecret: r.client_secret.length > 0,
    scopes: r.scopes,
    emailClaim: r.email_claim,
    groupsClaim: r.groups_claim,
    emailDomains: r.email_domains,
    createUsers: r.create_users,
    requireVerifiedEmail: r.require_verified_email,
    enabled: r.enabled,
    mappingRules: r.mapping_rules,
    redirectUri: callbackUrl(deps),
    createdAt: isoRequired(r.created_at),
    updatedAt: isoRequired(r.updated_at),
  };
}

/** What the activity log records of a provider: everything but the secret and the timestamps. */
function loggable(p: SsoProvider) {
  const { createdAt: _c, updatedAt: _u, redirectUri: _r, ...rest } = p;
  return rest;
}

async function loadProvider(db: Queryable, organisationId: string, id: string, lock = false) {
  const { rows } = await db.query<ProviderRow>(
    `SELECT ${PROVIDER_COLUMNS} FROM sso_providers p WHERE p.organisation_id = $1 AND p.id = $2${lock ? " FOR UPDATE" : ""}`,
    [organisationId, id],
  );
  return rows[0];
}

/** Rules name departments of the organisation only; org_admin is organisation-wide. */
async function checkRules(db: Queryable, organisationId: string, rules: readonly SsoMappingRule[]) {
  const errors: { path: string; message: string }[] = [];
  rules.forEach((r, i) => {
    if (r.role === "org_admin" && r.departmentId !== null)
      errors.push({ path: `mappingRules.${i}.departmentId`, message: "org_admin needs departmentId null" });
  });
  const ids = [...new Set(rules.map((r) => r.departmentId).filter((d): d is string => d !== null))];
  if (ids.length > 0) {
    const { rows } = await db.query<{ id: string }>(
      "SELECT id FROM departments WHERE organisation_id = $1 AND id = ANY($2::uuid[])",
      [organisationId, ids],
    );
    const known = new Set(rows.map((r) => r.id));
    rules.forEach((r, i) => {
      if (r.departmentId !== null && !known.has(r.departmentId))
        errors.push({ path: `mappingRules.${i}.departmentId`, message: "no such department" });
    });
  }
  if (errors.length > 0)
    throw new ApiError("validation_failed", "One or more mapping rules are not valid.", { errors });
}

async function writeRules(
  tx: Queryable,
  organisationId: string,
  providerId: string,
  rules: SsoMappingRule[],
) {
  await tx.query("DELETE FROM sso_mapping_rules WHERE organisation_id = $1 AND provider_id = $2", [
    organisationId,
    providerId,
  ]);
  for (const [i, r] of rules.entries()) {
    await tx.query(
      `INSERT INTO sso_mapping_rules (organisation_id, provider_id, position, group_name, role, department_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [organisationId, providerId, i, r.group, r.role, r.departmentId],
    );
  }
}

export async function listProviders(deps: ApiDeps, caller: Caller) {
  const { rows } = await deps.pool.query<ProviderRow>(
    `SELECT ${PROVIDER_COLUMNS} FROM sso_providers p WHERE p.organisation_id = $1 ORDER BY p.display_name, p.id`,
    [caller.organisationId],
  );
  return rows.map((r) => toProvider(deps, r));
}

export async function createProvider(
  deps: ApiDeps,
  caller: Caller,
  input: z.output<typeof ssoProviderCreate>,
) {
  assertOutboundUrl(deps, input.issuer, "issuer");
  return withTransaction(deps.pool, async (tx) => {
    await checkRules(tx, caller.organisationId, input.mappingRules);
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO sso_providers (organisation_id, display_name, issuer, client_id, client_secret, scopes, email_claim,
         groups_claim, email_domains, create_users, require_verified_email, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id`,
      [
        caller.organisationId,
        input.displayName,
        input.issuer,
        input.clientId,
        input.clientSecret,
        [...new Set(input.scopes)],
        input.emailClaim,
        input.groupsClaim,
        [...new Set(input.emailDomains)],
        input.createUsers,
        input.requireVerifiedEmail,
        input.enabled,
        caller.now,
      ],
    );
    const id = rows[0]?.id as string;
    await writeRules(tx, caller.organisationId, id, input.mappingRules);
    const created = toProvider(deps, found(await loadProvider(tx, caller.organisationId, id), "provider"));
    await logActivity(tx, caller, {
      action: "sso_provider.created",
      subjectType: "sso_provider",
      subjectId: id,
      details: { provider: loggable(created) },
    });
    return created;
  });
}

export async function updateProvider(
  deps: ApiDeps,
  caller: Caller,
  id: string,
  input: z.output<typeof ssoProviderUpdate>,
) {
  if (input.issuer) assertOutboundUrl(deps, input.issuer, "issuer");
  return withTransaction(deps.pool, async (tx) => {
    const beforeRow = found(await loadProvider(tx, caller.organisationId, id, true), "provider");
    const before = toProvider(deps, beforeRow);
    if (input.mappingRules) await checkRules(tx, caller.organisationId, input.mappingRules);
    await tx.query(
      `UPDATE sso_providers SET display_name = coalesce($3, display_name), issuer = coalesce($4, issuer),
              client_id = coalesce($5, client_id), client_secret = coalesce($6, client_secret),
              scopes = coalesce($7, scopes), email_claim = coalesce($8, email_claim),
              groups_claim = coalesce($9, groups_claim), email_domains = coalesce($10, email_domains),
              create_users = coalesce($11, create_users),
              require_verified_email = coalesce($12, require_verified_email),
              enabled = coalesce($13, enabled), updated_at = $14
        WHERE organisation_id = $1 AND id = $2`,
      [
        caller.organisationId,
        id,
        input.displayName ?? null,
        input.issuer ?? null,
        input.clientId ?? null,
        input.clientSecret ?? null,
        input.scopes ? [...new Set(input.scopes)] : null,
        input.emailClaim ?? null,
        input.groupsClaim ?? null,
        input.emailDomains ? [...new Set(input.emailDomains)] : null,
        input.createUsers ?? null,
        input.requireVerifiedEmail ?? null,
        input.enabled ?? null,
        caller.now,
      ],
    );
    if (input.mappingRules) await writeRules(tx, caller.organisationId, id, input.mappingRules);
    const after = toProvider(deps, found(await loadProvider(tx, caller.organisationId, id), "provider"));
    const changes = changeSet(loggable(before), loggable(after));
    await logActivity(tx, caller, {
      action: "sso_provider.updated",
      subjectType: "sso_provider",
      subjectId: id,
      details: {
        changes,
        // The secret is never logged, only that it was replaced.
        ...(input.clientSecret !== undefined ? { clientSecretReplaced: true } : {}),
      },
    });
    return after;
  });
}

export async function deleteProvider(deps: ApiDeps, caller: Caller, id: string) {
  await withTransaction(deps.pool, async (tx) => {
    const before = toProvider(
      deps,
      found(await loadProvider(tx, caller.organisationId, id, true), "provider"),
    );
    // Sessions opened through the provider, its links and flows go with it (foreign keys cascade).
    const ended = await tx.query(
      "SELECT count(*)::int AS n FROM sessions WHERE organisation_id = $1 AND sso_provider_id = $2",
      [caller.organisationId, id],
    );
    await tx.query("DELETE FROM sso_providers WHERE organisation_id = $1 AND id = $2", [
      caller.organisationId,
      id,
    ]);
    await logActivity(tx, caller, {
      action: "sso_provider.deleted",
      subjectType: "sso_provider",
      subjectId: id,
      details: { provider: loggable(before), sessionsEnded: ended.rows[0]?.n ?? 0 },
    });
  });
}

// ---------------------------------------------------------------------------
// Login settings

export async function getLoginSettings(deps: ApiDeps, caller: Caller): Promise<LoginSettings> {
  const { rows } = await deps.pool.query<{ local_password_login: boolean }>(
    "SELECT local_password_login FROM organisations WHERE id = $1",
    [caller.organisationId],
  );
  return { localPasswordLogin: found(rows[0], "organisation").local_password_login };
}

export async function setLoginSettings(deps: ApiDeps, caller: Caller, input: LoginSettings) {
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{ local_password_login: boolean }>(
      "SELECT local_password_login FROM organisations WHERE id = $1 FOR UPDATE",
      [caller.organisationId],
    );
    const before = { localPasswordLogin: found(rows[0], "organisation").local_password_login };
    await tx.query("UPDATE organisations SET local_password_login = $2 WHERE id = $1", [
      caller.organisationId,
      input.localPasswordLogin,
    ]);
    const after = { localPasswordLogin: input.localPasswordLogin };
    await logActivity(tx, caller, {
      action: "login_settings.updated",
      subjectType: "organisation",
      subjectId: caller.organisationId,
      details: { changes: changeSet(before, after) },
    });
    return after;
  });
}

// ---------------------------------------------------------------------------
// Discovery for the login page (public)

/** Enabled providers for the address's domain, from any organisation; says nothing about accounts. */
export async function discover(deps: ApiDeps, email: string) {
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  const { rows } = await deps.pool.query<{ id: string; display_name: string }>(
    `SELECT id, display_name FROM sso_providers WHERE enabled AND email_domains @> ARRAY[$1::text]
      ORDER BY display_name, id LIMIT 20`,
    [domain],
  );
  return { providers: rows.map((r) => ({ id: r.id, displayName: r.display_name })) };
}
