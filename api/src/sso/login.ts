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
 *
 * Providers, rules and login settings: providers.ts; the relying party's configuration, claims
 * and failure log: relying-party.ts; finding or creating the user and their grants from groups:
 * accounts.ts. This file is the login itself and re-exports the rest.
 */
import { randomBytes } from "node:crypto";
import { email as emailSchema, type SsoErrorCode } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import * as oidc from "openid-client";
import { type Caller, logActivity, userActor } from "../activity/writer";
import { sha256 } from "../auth/secrets";
import { createSession, type NewSession } from "../auth/service";
import type { ApiDeps } from "../deps";
import { found } from "../service-helpers";
import { applyGroupGrants, matchUser, type Refusal, refuse } from "./accounts";
import {
  type Claims,
  callbackUrl,
  configFor,
  describe,
  FLOW_TTL_MS,
  logFailure,
  PROVIDER_COLUMNS,
  type ProviderRow,
  readClaims,
  sanitize,
} from "./relying-party";

export * from "./providers";
export { callbackUrl, FLOW_TTL_MS, postLogoutUrl, providerLogoutUrl } from "./relying-party";

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
  const flow = await claimFlow(deps, state, now);
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
  const exchanged = await exchangeCode(deps, provider, flow, query, state);
  if ("error" in exchanged) return fail(exchanged.error, exchanged.detail);
  const { claims, idToken } = exchanged;
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

/** Single use: the first callback marks the flow used; a later one finds it used. */
async function claimFlow(deps: ApiDeps, state: string, now: Date): Promise<FlowRow | undefined> {
  const claimed = (
    await deps.pool.query<FlowRow>(
      `UPDATE sso_login_flows SET used_at = $2 WHERE state_sha256 = $1 AND used_at IS NULL
       RETURNING organisation_id, provider_id, nonce, code_verifier, return_to, browser_sha256, expires_at,
                 true AS newly_used`,
      [sha256(state), now],
    )
  ).rows[0];
  if (claimed) return claimed;
  return (
    await deps.pool.query<FlowRow>(
      `SELECT organisation_id, provider_id, nonce, code_verifier, return_to, browser_sha256, expires_at,
              false AS newly_used FROM sso_login_flows WHERE state_sha256 = $1`,
      [sha256(state)],
    )
  ).rows[0];
}

/** The authorization code for tokens at the provider, and the validated ID token's claims. */
async function exchangeCode(
  deps: ApiDeps,
  provider: ProviderRow,
  flow: FlowRow,
  query: Record<string, string>,
  state: string,
): Promise<{ claims: Claims; idToken: string } | { error: SsoErrorCode; detail: string }> {
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
    if (!c || !tokens.id_token) return { error: "provider_error", detail: "no ID token" };
    return { claims: readClaims(provider, c as Record<string, unknown>), idToken: tokens.id_token };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return {
      error: code === "OAUTH_JWT_TIMESTAMP_CHECK_FAILED" ? "expired" : "provider_error",
      detail: describe(err),
    };
  }
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
  const outcome = await withTransaction(deps.pool, async (tx): Promise<CallbackResult | Refusal> => {
    const matched = await matchUser(tx, provider, claims, system, now);
    if ("ok" in matched) return matched;
    const { user, created } = matched;
    if (user.status !== "active" || user.access_ended_at !== null)
      return refuse("account_disabled", "the user is disabled or their access has ended", user.id);
    const applied = await applyGroupGrants(tx, provider, claims.groups, user.id, system);
    if (applied !== "manual" && !Array.isArray(applied)) return applied;
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
