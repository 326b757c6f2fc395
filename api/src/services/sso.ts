/**
 * Single sign-on with OpenID Connect (issue 9).
 *
 * Providers and their group-to-grant rules are configured per organisation.
 * Login is the authorization code flow with PKCE (S256), state and nonce,
 * through openid-client: no token handling here beyond reading the validated
 * ID token's claims. A flow in progress is a row in sso_login_flows (state
 * hashed, single-use, 10 minutes, shared by every API process) bound to the
 * browser that started it by a short-lived cookie whose hash the row holds.
 *
 * At the callback the user is found by the provider's subject (a link made at
 * the first login), else by the verified e-mail within the provider's
 * organisation, else created when the provider allows it. When the provider
 * has mapping rules, the user's grants become exactly what their groups give,
 * at every login, in the transaction that opens the session; when it has none,
 * grants stay as administrators set them. An SSO login counts as having passed
 * the organisation's second-factor requirement: the provider authenticated the
 * person, with whatever factors it demands.
 */
import { randomBytes } from "node:crypto";
import {
  email as emailSchema,
  isLoopbackHttp,
  type LoginSettings,
  type RoleKey,
  type SsoErrorCode,
  type SsoMappingRule,
  type SsoProvider,
  type ssoProviderCreate,
  type ssoProviderUpdate,
} from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import * as oidc from "openid-client";
import type { z } from "zod";
import { type Caller, logActivity, userActor } from "../activity";
import { sha256 } from "../auth/secrets";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { assertOutboundUrl, outboundOf, refusalOf } from "../outbound";
import { createSession, type NewSession } from "./auth";
import { changeSet, found, isoRequired } from "./util";

export const FLOW_TTL_MS = 10 * 60_000;
const DISCOVERY_TTL_MS = 5 * 60_000;
const PROVIDER_TIMEOUT_S = 10;

const publicBase = (deps: ApiDeps) => deps.config.PUBLIC_URL.replace(/\/$/, "");
/** Where the provider sends the browser back; register it with the provider. */
export const callbackUrl = (deps: ApiDeps) => `${publicBase(deps)}/api/v1/auth/sso/callback`;
/** Where the provider sends the browser after RP-initiated logout. */
export const postLogoutUrl = (deps: ApiDeps) => `${publicBase(deps)}/login`;

// ---------------------------------------------------------------------------
// Provider configuration (organisation:manage)

interface ProviderRow {
  id: string;
  organisation_id: string;
  display_name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
  email_claim: string;
  groups_claim: string;
  email_domains: string[];
  create_users: boolean;
  require_verified_email: boolean;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  mapping_rules: SsoMappingRule[];
}

const PROVIDER_COLUMNS = `p.id, p.organisation_id, p.display_name, p.issuer, p.client_id, p.client_secret, p.scopes,
  p.email_claim, p.groups_claim, p.email_domains, p.create_users, p.require_verified_email, p.enabled,
  p.created_at, p.updated_at,
  coalesce((SELECT json_agg(json_build_object('group', r.group_name, 'role', r.role, 'departmentId', r.department_id)
                            ORDER BY r.position)
              FROM sso_mapping_rules r WHERE r.provider_id = p.id), '[]'::json) AS mapping_rules`;

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

// ---------------------------------------------------------------------------
// The relying party

const discoveryCache = new Map<string, { at: number; server: oidc.ServerMetadata }>();

/**
 * The openid-client configuration for a provider. Discovery is cached a few
 * minutes per issuer; the configuration itself is made per use so that it
 * carries the API's clock (deps.clock) as openid-client's clock skew.
 */
async function configFor(deps: ApiDeps, p: ProviderRow): Promise<oidc.Configuration> {
  const insecure = isLoopbackHttp(p.issuer);
  const http = outboundOf(deps);
  const guardedFetch: oidc.CustomFetch = (url, options) => http.fetch(url, options as RequestInit);
  const key = `${p.id} ${p.issuer}`;
  const now = deps.clock.now().getTime();
  let cached = discoveryCache.get(key);
  if (!cached || now - cached.at > DISCOVERY_TTL_MS || now < cached.at) {
    const discovered = await oidc.discovery(new URL(p.issuer), p.client_id, undefined, undefined, {
      timeout: PROVIDER_TIMEOUT_S,
      [oidc.customFetch]: guardedFetch,
      // http is allowed only for a provider on this machine (development and tests; the schema refuses others).
      ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    cached = { at: now, server: discovered.serverMetadata() };
    discoveryCache.set(key, cached);
  }
  const skew = Math.round((now - Date.now()) / 1000);
  const config = new oidc.Configuration(cached.server, p.client_id, {
    client_secret: p.client_secret,
    [oidc.clockSkew]: skew,
  });
  config.timeout = PROVIDER_TIMEOUT_S;
  // Token, userinfo and JWKS requests go through the outbound guard like discovery.
  config[oidc.customFetch] = guardedFetch;
  if (insecure) oidc.allowInsecureRequests(config);
  return config;
}

/** A sign-in flow's browser binding: the cookie value, stored only hashed. */
export interface StartedFlow {
  authorizationUrl: string;
  browserToken: string;
  maxAgeSeconds: number;
}

/** Begins a login: stores the flow and gives the provider's authorization URL. */
export async function startLogin(
  deps: ApiDeps,
  providerId: string,
  returnTo: string,
  meta: { ip: string | null },
): Promise<StartedFlow | { error: SsoErrorCode }> {
  const { rows } = await deps.pool.query<ProviderRow>(
    `SELECT ${PROVIDER_COLUMNS} FROM sso_providers p WHERE p.id = $1 AND p.enabled`,
    [providerId],
  );
  const p = found(rows[0], "provider");
  const now = deps.clock.now();
  let config: oidc.Configuration;
  try {
    config = await configFor(deps, p);
  } catch (err) {
    await logFailure(deps, p, null, "provider_error", `discovery failed: ${describe(err)}`, meta.ip, now);
    return { error: "provider_error" };
  }
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const browserToken = randomBytes(32).toString("base64url");
  await deps.pool.query(
    `INSERT INTO sso_login_flows (state_sha256, organisation_id, provider_id, nonce, code_verifier, return_to,
       browser_sha256, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      sha256(state),
      p.organisation_id,
      p.id,
      nonce,
      codeVerifier,
      returnTo,
      sha256(browserToken),
      now,
      new Date(now.getTime() + FLOW_TTL_MS),
    ],
  );
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callbackUrl(deps),
    scope: p.scopes.join(" "),
    code_challenge: codeChallenge,
    code_challenge_method: "S256",
    state,
    nonce,
  });
  return { authorizationUrl: url.href, browserToken, maxAgeSeconds: FLOW_TTL_MS / 1000 };
}

/** Error text for the log: the library's message and code, never tokens, bounded. */
function describe(err: unknown): string {
  const refused = refusalOf(err);
  if (refused) return sanitize(refused.message);
  const e = err as { code?: unknown; message?: unknown; error?: unknown; cause?: unknown };
  const cause = e?.cause as { message?: unknown } | undefined;
  const parts = [
    typeof e?.code === "string" ? e.code : undefined,
    typeof e?.error === "string" ? e.error : undefined,
    typeof e?.message === "string" ? e.message : String(err),
    // openid-client wraps oauth4webapi's error, whose message names the failed check (e.g. the "exp" claim).
    cause instanceof Error && typeof cause.message === "string" ? cause.message : undefined,
  ].filter(Boolean);
  return sanitize(parts.join(": "));
}
const sanitize = (s: string) => s.replace(/[^\x20-\x7e]/g, "?").slice(0, 300);

async function logFailure(
  deps: ApiDeps,
  p: { id: string; organisation_id: string },
  userId: string | null,
  reason: SsoErrorCode,
  detail: string,
  ip: string | null,
  now: Date,
  db: Queryable = deps.pool,
) {
  await logActivity(
    db,
    { actor: undefined, organisationId: p.organisation_id, ip, now },
    {
      action: "sso.login_failed",
      subjectType: userId ? "staff_user" : "sso_provider",
      subjectId: userId ?? p.id,
      details: { providerId: p.id, reason, detail: sanitize(detail) },
    },
  );
}

interface FlowRow {
  organisation_id: string;
  provider_id: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  browser_sha256: string;
  expires_at: Date;
  newly_used: boolean;
}

export type CallbackResult =
  | { ok: true; session: NewSession; returnTo: string }
  | { ok: false; error: SsoErrorCode };

interface Claims {
  sub: string;
  email: string | null;
  emailVerified: boolean;
  groups: string[];
  givenName: string | null;
  familyName: string | null;
  name: string | null;
}

function readClaims(p: ProviderRow, c: Record<string, unknown>): Claims {
  const str = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
  const rawGroups = c[p.groups_claim];
  const groups = Array.isArray(rawGroups)
    ? rawGroups.filter((g): g is string => typeof g === "string")
    : typeof rawGroups === "string"
      ? [rawGroups]
      : [];
  const email = str(c[p.email_claim])?.toLowerCase() ?? null;
  return {
    sub: String(c.sub),
    email,
    emailVerified: c.email_verified === true,
    groups,
    givenName: str(c.given_name),
    familyName: str(c.family_name),
    name: str(c.name),
  };
}

/**
 * Finishes a login at the callback. Every failure is logged (in the
 * provider's organisation when the flow is known, else as a failed attempt in
 * login_attempts and the process log) and answered with an error code only.
 */
export async function finishLogin(
  deps: ApiDeps,
  query: Record<string, string>,
  browserToken: string | undefined,
  meta: { ip: string | null; userAgent: string | null },
): Promise<CallbackResult> {
  const now = deps.clock.now();
  const state = query.state;
  const unknownFlow = async (detail: string): Promise<CallbackResult> => {
    // No organisation to log it in: counted like a failed password attempt from the address.
    await deps.pool.query("INSERT INTO login_attempts (at, email, ip, success) VALUES ($1, $2, $3, false)", [
      now,
      "sso:unknown-flow",
      meta.ip,
    ]);
    deps.logger.warn({ ip: meta.ip, detail }, "single sign-on callback for no known flow");
    return { ok: false, error: "invalid_request" };
  };
  if (!state || state.length > 200) return unknownFlow(state ? "state too long" : "no state");
  // Single use: the first callback marks the flow used; a later one finds it used.
  let flow = (
    await deps.pool.query<FlowRow>(
      `UPDATE sso_login_flows SET used_at = $2 WHERE state_sha256 = $1 AND used_at IS NULL
       RETURNING organisation_id, provider_id, nonce, code_verifier, return_to, browser_sha256, expires_at,
                 true AS newly_used`,
      [sha256(state), now],
    )
  ).rows[0];
  if (!flow) {
    flow = (
      await deps.pool.query<FlowRow>(
        `SELECT organisation_id, provider_id, nonce, code_verifier, return_to, browser_sha256, expires_at,
                false AS newly_used FROM sso_login_flows WHERE state_sha256 = $1`,
        [sha256(state)],
      )
    ).rows[0];
  }
  if (!flow) return unknownFlow("unknown state");
  const provider = (
    await deps.pool.query<ProviderRow>(
      `SELECT ${PROVIDER_COLUMNS} FROM sso_providers p WHERE p.organisation_id = $1 AND p.id = $2`,
      [flow.organisation_id, flow.provider_id],
    )
  ).rows[0];
  if (!provider) return unknownFlow("provider gone");
  const fail = async (error: SsoErrorCode, detail: string, userId: string | null = null) => {
    await logFailure(deps, provider, userId, error, detail, meta.ip, now);
    return { ok: false, error } as const;
  };
  if (!flow.newly_used) return fail("invalid_request", "flow already used (replayed callback)");
  if (!browserToken || sha256(browserToken) !== flow.browser_sha256)
    return fail("invalid_request", "callback in a browser that did not start the flow");
  if (flow.expires_at <= now) return fail("expired", "flow expired before the callback");
  if (!provider.enabled) return fail("invalid_request", "provider disabled");
  if (query.error) {
    return fail("provider_error", `provider answered ${sanitize(query.error).slice(0, 100)}`);
  }
  let claims: Claims;
  let idToken: string;
  try {
    const config = await configFor(deps, provider);
    const currentUrl = new URL(callbackUrl(deps));
    for (const [k, v] of Object.entries(query)) currentUrl.searchParams.set(k, v);
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: flow.code_verifier,
      expectedState: state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const c = tokens.claims();
    if (!c || !tokens.id_token) return fail("provider_error", "no ID token");
    claims = readClaims(provider, c as Record<string, unknown>);
    idToken = tokens.id_token;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return fail(code === "OAUTH_JWT_TIMESTAMP_CHECK_FAILED" ? "expired" : "provider_error", describe(err));
  }
  if (claims.sub.length < 1 || claims.sub.length > 255)
    return fail("provider_error", "sub is empty or too long");
  if (!claims.email) return fail("no_account", `no ${provider.email_claim} claim`);
  if (!emailSchema.safeParse(claims.email).success)
    return fail("no_account", `the ${provider.email_claim} claim is not an e-mail address`);
  if (provider.require_verified_email && !claims.emailVerified)
    return fail("email_not_verified", "email_verified is not true");
  try {
    return await completeLogin(
      deps,
      provider,
      { ...claims, email: claims.email },
      idToken,
      flow.return_to,
      meta,
      now,
    );
  } catch (err) {
    // Two first logins of the same person at once: one wins, the other is told to try again.
    if ((err as { code?: unknown }).code === "23505")
      return fail("invalid_request", "a concurrent login created the same user or link");
    throw err;
  }
}

interface MatchedUser {
  id: string;
  organisation_id: string;
  status: string;
  access_ended_at: Date | null;
}

async function completeLogin(
  deps: ApiDeps,
  provider: ProviderRow,
  claims: Claims & { email: string },
  idToken: string,
  returnTo: string,
  meta: { ip: string | null; userAgent: string | null },
  now: Date,
): Promise<CallbackResult> {
  const org = provider.organisation_id;
  const system: Caller = { actor: undefined, organisationId: org, ip: meta.ip, now };
  type Outcome = CallbackResult | { ok: false; error: SsoErrorCode; detail: string; userId: string | null };
  const outcome: Outcome = await withTransaction(deps.pool, async (tx): Promise<Outcome> => {
    const refuse = (error: SsoErrorCode, detail: string, userId: string | null = null) =>
      ({ ok: false, error, detail, userId }) as const;
    // 1. The link from an earlier login; 2. the verified e-mail; 3. a new user.
    let user = (
      await tx.query<MatchedUser>(
        `SELECT u.id, u.organisation_id, u.status, u.access_ended_at FROM sso_identities i
           JOIN staff_users u ON u.organisation_id = i.organisation_id AND u.id = i.user_id
          WHERE i.provider_id = $1 AND i.subject = $2 FOR UPDATE OF u`,
        [provider.id, claims.sub],
      )
    ).rows[0];
    let created = false;
    if (!user) {
      const byEmail = (
        await tx.query<MatchedUser>(
          "SELECT id, organisation_id, status, access_ended_at FROM staff_users WHERE email = $1 FOR UPDATE",
          [claims.email],
        )
      ).rows[0];
      if (byEmail && byEmail.organisation_id !== org)
        return refuse("no_account", "the e-mail belongs to a user of another organisation");
      if (byEmail) {
        const linked = await tx.query(
          "SELECT 1 FROM sso_identities WHERE provider_id = $1 AND user_id = $2",
          [provider.id, byEmail.id],
        );
        if (linked.rowCount)
          return refuse("no_account", "the user with this e-mail is linked to another subject", byEmail.id);
        user = byEmail;
      } else if (provider.create_users) {
        const [first, last] = names(claims);
        const ins = await tx.query<MatchedUser>(
          `INSERT INTO staff_users (organisation_id, email, first_name, last_name, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, organisation_id, status, access_ended_at`,
          [org, claims.email, first, last, now],
        );
        user = ins.rows[0] as MatchedUser;
        created = true;
        await logActivity(tx, system, {
          action: "user.created_by_sso",
          subjectType: "staff_user",
          subjectId: user.id,
          details: { providerId: provider.id },
        });
      } else {
        return refuse("no_account", "no user with this e-mail and the provider does not create users");
      }
      await tx.query(
        `INSERT INTO sso_identities (organisation_id, provider_id, subject, user_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
        [org, provider.id, claims.sub, user.id, now],
      );
    }
    if (user.status !== "active" || user.access_ended_at !== null)
      return refuse("account_disabled", "the user is disabled or their access has ended", user.id);

    // Grants from the group claim, when the provider has rules.
    const rules = provider.mapping_rules;
    let applied: { role: RoleKey; departmentId: string | null }[] | "manual" = "manual";
    if (rules.length > 0) {
      const groups = new Set(claims.groups);
      const wanted = new Map<string, { role: RoleKey; departmentId: string | null }>();
      for (const r of rules)
        if (groups.has(r.group))
          wanted.set(`${r.role}:${r.departmentId}`, { role: r.role, departmentId: r.departmentId });
      const current = (
        await tx.query<{ id: string; role: RoleKey; department_id: string | null }>(
          "SELECT id, role, department_id FROM role_grants WHERE organisation_id = $1 AND user_id = $2",
          [org, user.id],
        )
      ).rows;
      const have = new Map(current.map((g) => [`${g.role}:${g.department_id}`, g]));
      const removed = current.filter((g) => !wanted.has(`${g.role}:${g.department_id}`));
      const added = [...wanted.entries()].filter(([k]) => !have.has(k)).map(([, g]) => g);
      for (const g of removed) await tx.query("DELETE FROM role_grants WHERE id = $1", [g.id]);
      for (const g of added)
        await tx.query(
          "INSERT INTO role_grants (organisation_id, user_id, role, department_id) VALUES ($1, $2, $3, $4)",
          [org, user.id, g.role, g.departmentId],
        );
      if (removed.length > 0 || added.length > 0) {
        // Fewer grants end the user's other sessions' extra access at once (role_grants triggers notify live sockets).
        await logActivity(tx, system, {
          action: "user.grants_changed_by_sso",
          subjectType: "staff_user",
          subjectId: user.id,
          details: {
            providerId: provider.id,
            added,
            removed: removed.map((g) => ({ role: g.role, departmentId: g.department_id })),
          },
        });
      }
      applied = [...wanted.values()];
      if (applied.length === 0)
        return refuse("no_access", "no mapping rule matches the user's groups; grants removed", user.id);
    }
    const session = await createSession(
      deps,
      tx,
      { organisationId: org, userId: user.id },
      "active",
      now,
      meta.ip,
      meta.userAgent,
      undefined,
      { providerId: provider.id, idToken },
    );
    await tx.query("UPDATE staff_users SET last_login_at = $2 WHERE id = $1", [user.id, now]);
    await tx.query("UPDATE sso_identities SET last_login_at = $3 WHERE provider_id = $1 AND user_id = $2", [
      provider.id,
      user.id,
      now,
    ]);
    await logActivity(
      tx,
      { ...system, actor: userActor(org, user.id, session.sessionId) },
      {
        action: "sso.login_succeeded",
        subjectType: "staff_user",
        subjectId: user.id,
        details: { providerId: provider.id, userCreated: created, grants: applied },
      },
    );
    return { ok: true, session, returnTo };
  });
  if (!outcome.ok && "detail" in outcome) {
    await logFailure(deps, provider, outcome.userId, outcome.error, outcome.detail, meta.ip, now);
    return { ok: false, error: outcome.error };
  }
  return outcome;
}

function names(c: Claims): [string, string] {
  const cut = (s: string): string => s.slice(0, 100);
  if (c.givenName || c.familyName) return [cut(c.givenName ?? ""), cut(c.familyName ?? "")];
  if (c.name) {
    const i = c.name.lastIndexOf(" ");
    return i > 0 ? [cut(c.name.slice(0, i)), cut(c.name.slice(i + 1))] : [cut(c.name), ""];
  }
  return [cut(c.email?.slice(0, c.email.indexOf("@")) ?? ""), ""];
}

/**
 * For RP-initiated logout: the provider's end-session URL for this session
 * (with id_token_hint, client_id and post_logout_redirect_uri), or null for a
 * password session or a provider without an end_session_endpoint. Read before
 * the session row (and its ID token) is deleted.
 */
export async function providerLogoutUrl(deps: ApiDeps, sessionId: string): Promise<string | null> {
  const { rows } = await deps.pool.query<ProviderRow & { id_token: string | null }>(
    `SELECT ${PROVIDER_COLUMNS}, s.id_token FROM sessions s
       JOIN sso_providers p ON p.organisation_id = s.organisation_id AND p.id = s.sso_provider_id
      WHERE s.id = $1`,
    [sessionId],
  );
  const row = rows[0];
  if (!row?.id_token) return null;
  try {
    const config = await configFor(deps, row);
    if (!config.serverMetadata().end_session_endpoint) return null;
    return oidc.buildEndSessionUrl(config, {
      id_token_hint: row.id_token,
      client_id: row.client_id,
      post_logout_redirect_uri: postLogoutUrl(deps),
    }).href;
  } catch (err) {
    deps.logger.warn({ providerId: row.id, err: describe(err) }, "provider logout URL unavailable");
    return null;
  }
}
