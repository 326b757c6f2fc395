/**
 * Single sign-on on the login page, as pure functions: which address is worth
 * asking about, where the SSO button sends the browser, what an `sso_error`
 * from the callback means, and where logout goes next.
 */
import { isConsoleReturnPath, type LogoutResponse, type SsoErrorCode } from "@vakt/schemas";
import { ApiProblem } from "../api/client";
import type { MessageKey } from "../i18n/dict";

export const SSO_ERROR_PARAM = "sso_error";

/** sessionStorage key: the page to go back to after a login. */
export const RETURN_TO = "vakt.returnTo";

/** The "forgot your password" page, linked from the login. */
export const FORGOT_PASSWORD = "/forgot-password";

/** Pages never worth returning to after a login: the login itself and the password pages. */
export const NO_RETURN: ReadonlySet<string> = new Set([
  "/login",
  "/invitation",
  "/reset-password",
  FORGOT_PASSWORD,
]);

const errorKeys: Record<SsoErrorCode, MessageKey> = {
  invalid_request: "login.ssoError.invalid_request",
  provider_error: "login.ssoError.provider_error",
  email_not_verified: "login.ssoError.email_not_verified",
  no_account: "login.ssoError.no_account",
  no_access: "login.ssoError.no_access",
  account_disabled: "login.ssoError.account_disabled",
  expired: "login.ssoError.expired",
};

/** The message for an `sso_error` value; an unknown value still gets a general one, no value none. */
export function ssoErrorKey(raw: string | null): MessageKey | null {
  if (raw === null) return null;
  // errorKeys names every SsoErrorCode (its type says so): no zod needed on the login page.
  return Object.hasOwn(errorKeys, raw) ? errorKeys[raw as SsoErrorCode] : "login.ssoError.unknown";
}

/** Reads `sso_error` from a query string and gives the query string without it. */
export function takeSsoError(search: string): { key: MessageKey | null; search: string } {
  const params = new URLSearchParams(search);
  const key = ssoErrorKey(params.get(SSO_ERROR_PARAM));
  params.delete(SSO_ERROR_PARAM);
  const rest = params.toString();
  return { key, search: rest ? `?${rest}` : "" };
}

/**
 * An address worth asking about (something@domain.tld) and its domain, which
 * is what decides the providers: the console asks again only when it changes.
 */
export function discoverableEmail(input: string): { email: string; domain: string } | null {
  const email = input.trim().toLowerCase();
  const m = /^[^\s@]+@((?:[a-z0-9-]+\.)+[a-z]{2,})$/.exec(email);
  return m?.[1] ? { email, domain: m[1] } : null;
}

/**
 * Where the "Log in with …" button sends the browser: the API's start route,
 * which redirects to the provider and, after login, back to `returnTo` (the
 * page the user was on, or the live view). Only paths within the console.
 */
export function ssoStartUrl(providerId: string, returnTo: string | null): string {
  const wanted = returnTo ?? "/";
  const path =
    isConsoleReturnPath(wanted) && !NO_RETURN.has(new URL(wanted, "http://x").pathname) ? wanted : "/";
  return `/api/v1/auth/sso/${encodeURIComponent(providerId)}/start?returnTo=${encodeURIComponent(path)}`;
}

/** Password login refused because the organisation logs in through single sign-on only. */
export function isSsoRequired(err: unknown): boolean {
  return (
    err instanceof ApiProblem && err.status === 403 && err.code.replaceAll("-", "_").endsWith("sso_required")
  );
}

/** The provider's end-session URL to go to after logout (answers.ts's logoutAnswer), if any; only ever http(s). */
export function providerLogoutUrl(answer: LogoutResponse | undefined): string | null {
  const raw = answer?.providerLogoutUrl;
  if (!raw) return null;
  const url = URL.parse(raw);
  return url && (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
}
