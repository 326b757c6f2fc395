import { createRoute } from "@hono/zod-openapi";
import { loginSettings, organisation, organisationUpdate } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as sso from "../sso/login";
import * as svc from "./service";

export function organisationRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "The caller's organisation",
        tags: ["organisation"],
        ...guardedBy("organisation:read"),
        responses: { 200: json(organisation, "The organisation"), ...problems },
      }),
      async (c) => c.json(await svc.getOrganisation(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/",
        summary: "Change the organisation's settings",
        tags: ["organisation"],
        ...guardedBy("organisation:manage"),
        request: jsonBody(organisationUpdate),
        responses: { 200: json(organisation, "The organisation"), ...problems },
      }),
      async (c) => c.json(await svc.updateOrganisation(deps, callerOf(c, deps), c.req.valid("json")), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/login-settings",
        summary: "How staff may log in (local passwords on or off)",
        tags: ["organisation"],
        ...guardedBy("organisation:manage"),
        responses: { 200: json(loginSettings, "The login settings"), ...problems },
      }),
      async (c) => c.json(await sso.getLoginSettings(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "put",
        path: "/login-settings",
        summary:
          "Set how staff may log in; with local passwords off, only organisation administrators keep a (logged) password login",
        tags: ["organisation"],
        ...guardedBy("organisation:manage"),
        request: jsonBody(loginSettings),
        responses: { 200: json(loginSettings, "The login settings"), ...problems },
      }),
      async (c) => c.json(await sso.setLoginSettings(deps, callerOf(c, deps), c.req.valid("json")), 200),
    );
}
