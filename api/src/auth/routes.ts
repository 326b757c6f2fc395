import { createRoute, z } from "@hono/zod-openapi";
import {
  acceptInvitationRequest,
  isLoopbackHttp,
  loginRequest,
  loginResponse,
  logoutResponse,
  meResponse,
  otherSessionsEnded,
  ownSession,
  passwordResetConfirm,
  passwordResetRequest,
  profile,
  profileUpdate,
  secondFactorRequest,
  totpDisabled,
  totpDisableRequest,
  totpSetupResponse,
} from "@vakt/schemas";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { type AppEnv, type Router, router } from "../context";
import type { ApiDeps } from "../deps";
import { permissionsOf } from "../policy";
import { json, jsonBody, permissionTag, problems, userCallerOf } from "../route-helpers";
import * as sso from "../sso/login";
import * as users from "../users/service";
import { CSRF_COOKIE, requireSession, SESSION_COOKIE } from "./middleware";
import * as auth from "./service";

/** Secure cookies unless the console is served from http://localhost. */
export function secureCookies(publicUrl: string): boolean {
  return !isLoopbackHttp(publicUrl);
}

export function setSessionCookies(c: Context<AppEnv>, deps: ApiDeps, s: auth.NewSession) {
  const secure = secureCookies(deps.config.PUBLIC_URL);
  const maxAge = Math.max(1, Math.floor((s.expiresAt.getTime() - deps.clock.now().getTime()) / 1000));
  // Path=/ so the browser sends it to /socket.io too, not only to /api.
  setCookie(c, SESSION_COOKIE, s.token, { httpOnly: true, secure, sameSite: "Strict", path: "/", maxAge });
  // Readable by the console's script, which echoes it in the X-CSRF-Token header.
  setCookie(c, CSRF_COOKIE, s.csrfToken, { httpOnly: false, secure, sameSite: "Strict", path: "/", maxAge });
  return { stage: s.stage, csrfToken: s.csrfToken, expiresAt: s.expiresAt.toISOString() };
}

function clearSessionCookies(c: Context<AppEnv>) {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
  deleteCookie(c, CSRF_COOKIE, { path: "/" });
}

const noContent = { 204: { description: "Done" } };
const userAgent = (c: Context<AppEnv>) => c.req.header("user-agent")?.slice(0, 300) ?? null;

export function authRoutes(deps: ApiDeps) {
  const r = router();
  passwordLoginRoutes(r, deps);
  authenticatorRoutes(r, deps);
  ownSessionRoutes(r, deps);
  profileRoutes(r, deps);
  logoutRoutes(r, deps);
  passwordTokenRoutes(r, deps);
  return r;
}

/** Logging in: the password, then the second factor when the user has one. */
function passwordLoginRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "post",
        path: "/login",
        summary: "Log in with e-mail and password",
        tags: ["auth"],
        ...permissionTag("public"),
        request: jsonBody(loginRequest),
        responses: { 200: json(loginResponse, "Logged in, or waiting for a second factor"), ...problems },
      }),
      async (c) => {
        const s = await auth.login(deps, c.req.valid("json"), { ip: c.get("ip"), userAgent: userAgent(c) });
        return c.json(setSessionCookies(c, deps, s), 200);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/second-factor",
        summary: "Give the TOTP code to finish logging in",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: false })] as const,
        request: jsonBody(secondFactorRequest),
        responses: { 200: json(loginResponse, "Logged in"), ...problems },
      }),
      async (c) => {
        const s = await auth.completeSecondFactor(deps, userCallerOf(c, deps), c.req.valid("json").code, {
          userAgent: userAgent(c),
        });
        return c.json(setSessionCookies(c, deps, s), 200);
      },
    );
}

/** The caller's authenticator app: enrolling, confirming and turning it off. */
function authenticatorRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "post",
        path: "/totp/setup",
        summary: "Start enrolling an authenticator app",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: false })] as const,
        responses: { 200: json(totpSetupResponse, "Secret to enter in the app"), ...problems },
      }),
      async (c) => c.json(await auth.setupTotp(deps, userCallerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/totp/enable",
        summary: "Confirm the authenticator app with a first code",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: false })] as const,
        request: jsonBody(secondFactorRequest),
        responses: {
          200: json(z.object({ enabled: z.literal(true), session: loginResponse.nullable() }), "Enabled"),
          ...problems,
        },
      }),
      async (c) => {
        const s = await auth.enableTotp(deps, userCallerOf(c, deps), c.req.valid("json").code, {
          userAgent: userAgent(c),
        });
        return c.json({ enabled: true as const, session: s ? setSessionCookies(c, deps, s) : null }, 200);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/totp/disable",
        summary:
          "Turn the caller's own authenticator app off, with a current code from it; other sessions end. Refused for an administrator whose organisation requires a second factor",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: true })] as const,
        request: jsonBody(totpDisableRequest),
        responses: { 200: json(totpDisabled, "Disabled"), ...problems },
      }),
      async (c) => c.json(await auth.disableTotp(deps, userCallerOf(c, deps), c.req.valid("json").code), 200),
    );
}

/** The caller's own sessions and who they are. */
function ownSessionRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/sessions",
        summary: "The caller's own sessions that have not expired (where they are logged in)",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: true })] as const,
        responses: { 200: json(z.array(ownSession), "Sessions, the latest used first"), ...problems },
      }),
      async (c) => c.json(await auth.listOwnSessions(deps, userCallerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/logout-others",
        summary: "End every session of this user except the one making the request",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: true })] as const,
        responses: { 200: json(otherSessionsEnded, "How many sessions ended"), ...problems },
      }),
      async (c) => c.json(await auth.logoutOthers(deps, userCallerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/me",
        summary: "Who is logged in, with grants and permissions",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: false })] as const,
        responses: { 200: json(meResponse, "The session's user"), ...problems },
      }),
      async (c) => {
        const caller = userCallerOf(c, deps);
        const grants = caller.actor.kind === "user" ? caller.actor.grants : [];
        const stage = c.get("sessionStage") ?? "active";
        return c.json(
          {
            user: await auth.me(deps, caller.userId),
            stage,
            grants,
            permissions: stage === "active" ? permissionsOf(caller.actor) : [],
          },
          200,
        );
      },
    );
}

/** The caller's own profile. */
function profileRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/profile",
        summary: "The caller's own profile: phone number (for SMS alerts) and alarm sound",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: true })] as const,
        responses: { 200: json(profile, "The profile"), ...problems },
      }),
      async (c) => c.json(await users.getProfile(deps, userCallerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/profile",
        summary: "Change the caller's own phone number (E.164) or alarm sound",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: true })] as const,
        request: jsonBody(profileUpdate),
        responses: { 200: json(profile, "The profile after the change"), ...problems },
      }),
      async (c) => c.json(await users.updateProfile(deps, userCallerOf(c, deps), c.req.valid("json")), 200),
    );
}

/** Ending this session or every session. */
function logoutRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "post",
        path: "/logout",
        summary:
          "End this session; for a single sign-on session, also says where to end the provider's session (RP-initiated logout)",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: false })] as const,
        responses: {
          200: json(logoutResponse, "Ended; providerLogoutUrl is null for password sessions"),
          ...problems,
        },
      }),
      async (c) => {
        const caller = userCallerOf(c, deps);
        // Read before the session (and the ID token it holds) is deleted.
        const providerLogoutUrl = await sso.providerLogoutUrl(deps, caller.sessionId);
        await auth.logout(deps, caller, false);
        clearSessionCookies(c);
        return c.json({ providerLogoutUrl }, 200);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/logout-everywhere",
        summary: "End every session of this user",
        tags: ["auth"],
        ...permissionTag("session"),
        middleware: [requireSession({ active: true })] as const,
        responses: { ...noContent, ...problems },
      }),
      async (c) => {
        await auth.logout(deps, userCallerOf(c, deps), true);
        clearSessionCookies(c);
        return c.body(null, 204);
      },
    );
}

/** Choosing a password with a token sent by e-mail: an invitation or a reset. */
function passwordTokenRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "post",
        path: "/invitations/accept",
        summary: "Choose a password with an invitation token",
        tags: ["auth"],
        ...permissionTag("public"),
        request: jsonBody(acceptInvitationRequest),
        responses: { ...noContent, ...problems, 410: { description: "Unknown, expired or used" } },
      }),
      async (c) => {
        const b = c.req.valid("json");
        await auth.acceptInvitation(deps, b.token, b.password, c.get("ip"));
        return c.body(null, 204);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/password-reset",
        summary: "Ask for a password-reset e-mail",
        tags: ["auth"],
        ...permissionTag("public"),
        request: jsonBody(passwordResetRequest),
        responses: { 202: { description: "If the account exists, an e-mail is on its way" }, ...problems },
      }),
      async (c) => {
        await auth.requestPasswordReset(deps, c.req.valid("json").email, c.get("ip"));
        return c.body(null, 202);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/password-reset/confirm",
        summary: "Choose a new password with a reset token",
        tags: ["auth"],
        ...permissionTag("public"),
        request: jsonBody(passwordResetConfirm),
        responses: { ...noContent, ...problems, 410: { description: "Unknown, expired or used" } },
      }),
      async (c) => {
        const b = c.req.valid("json");
        await auth.confirmPasswordReset(deps, b.token, b.password, c.get("ip"));
        return c.body(null, 204);
      },
    );
}
