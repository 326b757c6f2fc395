import { createRoute } from "@hono/zod-openapi";
import { organisation, organisationUpdate } from "@vakt/schemas";
import { requirePermission } from "../auth/middleware";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import * as svc from "../services/organisations";
import { callerOf, json, jsonBody, permissionTag, problems, security } from "./common";

export function organisationRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "The caller's organisation",
        tags: ["organisation"],
        security,
        ...permissionTag("organisation:read"),
        middleware: [requirePermission("organisation:read")] as const,
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
        security,
        ...permissionTag("organisation:manage"),
        middleware: [requirePermission("organisation:manage")] as const,
        request: jsonBody(organisationUpdate),
        responses: { 200: json(organisation, "The organisation"), ...problems },
      }),
      async (c) => c.json(await svc.updateOrganisation(deps, callerOf(c, deps), c.req.valid("json")), 200),
    );
}
