import { createRoute, z } from "@hono/zod-openapi";
import {
  idParam,
  ssoDiscoveryQuery,
  ssoDiscoveryResponse,
  ssoProvider,
  ssoProviderCreate,
  ssoProviderUpdate,
  ssoStartQuery,
} from "@vakt/schemas";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { secureCookies, setSessionCookies } from "../auth/routes";
import { type AppEnv, router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, permissionTag, problems } from "../route-helpers";
import * as svc from "./login";

/** Binds a login flow to the browser that started it (login CSRF). */
export const SSO_FLOW_COOKIE = "vakt_sso_flow";
const CALLBACK_PATH = "/api/v1/auth/sso/callback";

const redirect = { description: "Redirect", headers: { Location: { schema: { type: "string" as const } } } };

/** Whatever the provider adds to its answer is passed on to openid-client; these are the parameters it reads. */
const ssoCallbackQuery = z.looseObject({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  iss: z.string().max(500).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

const loginError = (code: string) => `/login?sso_error=${encodeURIComponent(code)}`;

const userAgent = (c: Context<AppEnv>) => c.req.header("user-agent")?.slice(0, 300) ?? null;

/** Public routes of the login page and the provider's redirect: /api/v1/auth/sso. */
export function ssoLoginRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/providers",
        summary: "Single sign-on providers offered for an e-mail address (by its domain)",
        tags: ["auth"],
        ...permissionTag("public"),
        request: { query: ssoDiscoveryQuery },
        responses: { 200: json(ssoDiscoveryResponse, "Providers to offer"), ...problems },
      }),
      async (c) => c.json(await svc.discover(deps, c.req.valid("query").email), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}/start",
        summary: "Start single sign-on: redirects to the provider (code flow with PKCE, state and nonce)",
        tags: ["auth"],
        ...permissionTag("public"),
        request: { params: idParam, query: ssoStartQuery },
        responses: { 302: redirect, ...problems },
      }),
      async (c) => {
        const started = await svc.startLogin(deps, c.req.valid("param").id, c.req.valid("query").returnTo, {
          ip: c.get("ip"),
        });
        if ("error" in started) return c.redirect(loginError(started.error), 302);
        // SameSite=Lax: the provider's redirect back is a cross-site top-level navigation.
        setCookie(c, SSO_FLOW_COOKIE, started.browserToken, {
          httpOnly: true,
          secure: secureCookies(deps.config.PUBLIC_URL),
          sameSite: "Lax",
          path: CALLBACK_PATH,
          maxAge: started.maxAgeSeconds,
        });
        return c.redirect(started.authorizationUrl, 302);
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/callback",
        summary:
          "Where the provider sends the browser back: opens a session and redirects to the console, or to /login?sso_error=<code>",
        tags: ["auth"],
        ...permissionTag("public"),
        request: { query: ssoCallbackQuery },
        responses: { 302: redirect },
      }),
      async (c) => {
        const query = Object.fromEntries(
          Object.entries(c.req.valid("query")).filter((e): e is [string, string] => typeof e[1] === "string"),
        );
        const result = await svc.finishLogin(deps, query, getCookie(c, SSO_FLOW_COOKIE), {
          ip: c.get("ip"),
          userAgent: userAgent(c),
        });
        deleteCookie(c, SSO_FLOW_COOKIE, { path: CALLBACK_PATH });
        if (!result.ok) return c.redirect(loginError(result.error), 302);
        setSessionCookies(c, deps, result.session);
        return c.redirect(result.returnTo, 302);
      },
      // Any malformed callback still ends on the login page, not in a problem document.
      (result, c) => {
        if (!result.success) {
          c.get("log").warn({ issues: result.error.issues.length }, "malformed single sign-on callback");
          return c.redirect(loginError("invalid_request"), 302);
        }
      },
    );
}

/** Provider configuration: /api/v1/sso-providers (organisation administrators). */
export function ssoProviderRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Single sign-on providers of the organisation (secrets are never returned)",
        tags: ["sso"],
        ...guardedBy("organisation:manage"),
        responses: { 200: json(z.array(ssoProvider), "Providers"), ...problems },
      }),
      async (c) => c.json(await svc.listProviders(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Add an OpenID Connect provider, with its group-to-grant rules",
        tags: ["sso"],
        ...guardedBy("organisation:manage"),
        request: jsonBody(ssoProviderCreate),
        responses: { 201: json(ssoProvider, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createProvider(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Change a provider (leave clientSecret out to keep the stored one)",
        tags: ["sso"],
        ...guardedBy("organisation:manage"),
        request: { params: idParam, ...jsonBody(ssoProviderUpdate) },
        responses: { 200: json(ssoProvider, "Changed"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateProvider(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        summary: "Remove a provider; sessions opened through it end",
        tags: ["sso"],
        ...guardedBy("organisation:manage"),
        request: { params: idParam },
        responses: { 204: { description: "Removed" }, ...problems },
      }),
      async (c) => {
        await svc.deleteProvider(deps, callerOf(c, deps), c.req.valid("param").id);
        return c.body(null, 204);
      },
    );
}
