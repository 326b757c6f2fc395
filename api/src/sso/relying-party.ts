/**
 * The relying party's side of single sign-on (login.ts): its URLs and timeouts, the provider's
 * openid-client configuration (discovery cached per issuer, every request through the outbound
 * guard), the claims read from a validated ID token, failures described and logged, and
 * RP-initiated logout.
 */
import { isLoopbackHttp, type SsoErrorCode, type SsoMappingRule } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import * as oidc from "openid-client";
import { logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { outboundOf, refusalOf } from "../outbound";

/** A provider as stored, with its mapping rules in order. */
export interface ProviderRow {
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

export const PROVIDER_COLUMNS = `p.id, p.organisation_id, p.display_name, p.issuer, p.client_id, p.client_secret, p.scopes,
  p.email_claim, p.groups_claim, p.email_domains, p.create_users, p.require_verified_email, p.enabled,
  p.created_at, p.updated_at,
  coalesce((SELECT json_agg(json_build_object('group', r.group_name, 'role', r.role, 'departmentId', r.department_id)
                            ORDER BY r.position)
              FROM sso_mapping_rules r WHERE r.provider_id = p.id), '[]'::json) AS mapping_rules`;

export const FLOW_TTL_MS = 10 * 60_000;
const DISCOVERY_TTL_MS = 5 * 60_000;
const PROVIDER_TIMEOUT_S = 10;

const publicBase = (deps: ApiDeps) => deps.config.PUBLIC_URL.replace(/\/$/, "");
/** Where the provider sends the browser back; register it with the provider. */
export const callbackUrl = (deps: ApiDeps) => `${publicBase(deps)}/api/v1/auth/sso/callback`;
/** Where the provider sends the browser after RP-initiated logout. */
export const postLogoutUrl = (deps: ApiDeps) => `${publicBase(deps)}/login`;

// ---------------------------------------------------------------------------
// The relying party

const discoveryCache = new Map<string, { at: number; server: oidc.ServerMetadata }>();

/**
 * The openid-client configuration for a provider. Discovery is cached a few
 * minutes per issuer; the configuration itself is made per use so that it
 * carries the API's clock (deps.clock) as openid-client's clock skew.
 */
export async function configFor(deps: ApiDeps, p: ProviderRow): Promise<oidc.Configuration> {
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

/** Error text for the log: the library's message and code, never tokens, bounded. */
export function describe(err: unknown): string {
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
export const sanitize = (s: string) => s.replace(/[^\x20-\x7e]/g, "?").slice(0, 300);

export async function logFailure(
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

export interface Claims {
  sub: string;
  email: string | null;
  emailVerified: boolean;
  groups: string[];
  givenName: string | null;
  familyName: string | null;
  name: string | null;
}

export function readClaims(p: ProviderRow, c: Record<string, unknown>): Claims {
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

/** A new user's first and last name from the claims (the e-mail's local part at worst). */
export function names(c: Claims): [string, string] {
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
