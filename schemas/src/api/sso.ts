/**
 * Single sign-on with OpenID Connect: the provider configuration an
 * organisation administrator keeps, the rules that turn the provider's group
 * claim into Vakt role grants, and what the login page may ask before anyone
 * is logged in.
 */
import { z } from "zod";
import { CONSOLE_RETURN_PATH, CONSOLE_RETURN_PATH_MAX } from "../console-path";
import { roleKey } from "./admin";
import { email } from "./auth";

/** Plain http to this machine: allowed only for development and tests (console, provider). */
export function isLoopbackHttp(url: string): boolean {
  const u = URL.parse(url);
  return u?.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

/** https, or http for a provider on this machine (development and tests only). */
export const issuerUrl = z
  .url()
  .max(500)
  // Refinements run even when the URL check failed, so the checks parse defensively.
  .refine(
    (u) => URL.parse(u)?.protocol === "https:" || isLoopbackHttp(u),
    "https, or http only for localhost",
  );

const claimName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_:./-]{1,100}$/, "a claim name");
const emailDomain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/, "a domain such as kommune.no");

/**
 * Members of `group` (a value of the provider's group claim) get `role` on
 * `departmentId` (null: the whole organisation). Rules are re-applied at every
 * login: a user's grants become exactly what their groups give, so leaving a
 * group removes the access at the next login.
 */
export const ssoMappingRule = z.object({
  group: z.string().trim().min(1).max(256),
  role: roleKey,
  departmentId: z.uuid().nullable(),
});
export type SsoMappingRule = z.infer<typeof ssoMappingRule>;

export const ssoProvider = z.object({
  id: z.uuid(),
  displayName: z.string(),
  issuer: z.string(),
  clientId: z.string(),
  /** The secret itself is never returned. */
  hasClientSecret: z.boolean(),
  scopes: z.array(z.string()),
  emailClaim: z.string(),
  groupsClaim: z.string(),
  /** Login page discovery: a user typing an address in one of these domains is offered this provider. */
  emailDomains: z.array(z.string()),
  /** Create a staff user on first login when no user has the verified e-mail. */
  createUsers: z.boolean(),
  /** Refuse an e-mail the provider does not mark verified (`email_verified`). On by default. */
  requireVerifiedEmail: z.boolean(),
  enabled: z.boolean(),
  mappingRules: z.array(ssoMappingRule),
  /** Where the provider must send the browser back: register this URI with the provider. */
  redirectUri: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type SsoProvider = z.infer<typeof ssoProvider>;

const scopes = z
  .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/, "a scope token"))
  .max(20)
  .refine((s) => s.includes("openid"), "must include openid");

export const ssoProviderCreate = z.object({
  displayName: z.string().trim().min(1).max(100),
  issuer: issuerUrl,
  clientId: z.string().trim().min(1).max(256),
  clientSecret: z.string().min(1).max(1024),
  scopes: scopes.default(["openid", "email", "profile"]),
  emailClaim: claimName.default("email"),
  groupsClaim: claimName.default("groups"),
  emailDomains: z.array(emailDomain).max(20).default([]),
  createUsers: z.boolean().default(false),
  requireVerifiedEmail: z.boolean().default(true),
  enabled: z.boolean().default(true),
  mappingRules: z.array(ssoMappingRule).max(200).default([]),
});
export type SsoProviderCreate = z.input<typeof ssoProviderCreate>;

/** Leave `clientSecret` out to keep the stored one. */
export const ssoProviderUpdate = z
  .object({
    displayName: z.string().trim().min(1).max(100),
    issuer: issuerUrl,
    clientId: z.string().trim().min(1).max(256),
    clientSecret: z.string().min(1).max(1024),
    scopes,
    emailClaim: claimName,
    groupsClaim: claimName,
    emailDomains: z.array(emailDomain).max(20),
    createUsers: z.boolean(),
    requireVerifiedEmail: z.boolean(),
    enabled: z.boolean(),
    mappingRules: z.array(ssoMappingRule).max(200),
  })
  .partial();

/** Organisation-wide login settings (organisation:manage). */
export const loginSettings = z.object({
  /**
   * Off: staff log in only through single sign-on. Organisation administrators
   * keep a password login for emergencies (break-glass); each use is logged.
   */
  localPasswordLogin: z.boolean(),
});
export type LoginSettings = z.infer<typeof loginSettings>;

/** Public: which providers to offer for an address (by its domain). Reveals nothing about accounts. */
export const ssoDiscoveryQuery = z.object({ email });
export const ssoDiscoveryResponse = z.object({
  providers: z.array(z.object({ id: z.uuid(), displayName: z.string() })),
});
export type SsoDiscoveryResponse = z.infer<typeof ssoDiscoveryResponse>;

/** Where to send the browser after login: a path within the console, never another site. */
export const consoleReturnPath = z
  .string()
  .max(CONSOLE_RETURN_PATH_MAX)
  .regex(CONSOLE_RETURN_PATH, "a path in the console")
  .default("/");
export const ssoStartQuery = z.object({ returnTo: consoleReturnPath });

/**
 * Why a single sign-on attempt failed, as the callback tells the console in
 * `/login?sso_error=<code>`. The details are in the activity log, not the URL.
 */
export const ssoErrorCode = z.enum([
  "invalid_request",
  "provider_error",
  "email_not_verified",
  "no_account",
  "no_access",
  "account_disabled",
  "expired",
]);
export type SsoErrorCode = z.infer<typeof ssoErrorCode>;

/** The answer to logout: where the browser goes next to end the provider's session too, if anywhere. */
export const logoutResponse = z.object({ providerLogoutUrl: z.string().nullable() });
export type LogoutResponse = z.infer<typeof logoutResponse>;
