import { createRoute, z } from "@hono/zod-openapi";
import {
  alertEndpoint,
  alertEndpointCreate,
  alertEndpointCreated,
  alertEndpointUpdate,
  alertRule,
  alertRuleCreate,
  alertRuleUpdate,
  alertTargets,
  alertTargetsQuery,
  endpointPingResult,
  idParam,
} from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as svc from "./service";

const guard = {
  tags: ["alert routing"],
  ...guardedBy("routing:manage"),
};

export function alertRuleRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Alert rules of the caller's departments",
        ...guard,
        responses: { 200: json(z.array(alertRule), "Rules"), ...problems },
      }),
      async (c) => c.json(await svc.listRules(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        summary: "One alert rule with its steps",
        ...guard,
        request: { params: idParam },
        responses: { 200: json(alertRule, "The rule"), ...problems },
      }),
      async (c) => c.json(await svc.getRule(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Create an alert rule (type, severity, schedule, escalation steps) for a department",
        ...guard,
        request: jsonBody(alertRuleCreate),
        responses: { 201: json(alertRule, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createRule(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Change an alert rule; `steps` replaces the escalation steps",
        ...guard,
        request: { params: idParam, ...jsonBody(alertRuleUpdate) },
        responses: { 200: json(alertRule, "Updated"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateRule(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        summary: "Delete an alert rule",
        ...guard,
        request: { params: idParam },
        responses: { 204: { description: "Deleted" }, ...problems },
      }),
      async (c) => {
        await svc.deleteRule(deps, callerOf(c, deps), c.req.valid("param").id);
        return c.body(null, 204);
      },
    );
}

/** GET /alert-targets?departmentId=: whom the routing editor may offer for a rule of that department. */
export function alertTargetRoutes(deps: ApiDeps) {
  return router().openapi(
    createRoute({
      method: "get",
      path: "/",
      summary: "Roles and users who can see and take alarms in a department: what a rule's steps may name",
      ...guard,
      request: { query: alertTargetsQuery },
      responses: { 200: json(alertTargets, "Who may be alerted"), ...problems },
    }),
    async (c) =>
      c.json(await svc.listTargets(deps, callerOf(c, deps), c.req.valid("query").departmentId), 200),
  );
}

export function alertEndpointRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Alert endpoints (webhook, e-mail, SMS) of the caller's departments",
        ...guard,
        responses: { 200: json(z.array(alertEndpoint), "Endpoints"), ...problems },
      }),
      async (c) => c.json(await svc.listEndpoints(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Create an endpoint; a webhook's signing secret is shown once",
        ...guard,
        request: jsonBody(alertEndpointCreate),
        responses: { 201: json(alertEndpointCreated, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createEndpoint(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Change an endpoint",
        ...guard,
        request: { params: idParam, ...jsonBody(alertEndpointUpdate) },
        responses: { 200: json(alertEndpoint, "Updated"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateEndpoint(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        summary: "Delete an endpoint",
        ...guard,
        request: { params: idParam },
        responses: { 204: { description: "Deleted" }, ...problems },
      }),
      async (c) => {
        await svc.deleteEndpoint(deps, callerOf(c, deps), c.req.valid("param").id);
        return c.body(null, 204);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/{id}/ping",
        summary: "Send a test message to the endpoint (recorded)",
        ...guard,
        request: { params: idParam },
        responses: { 200: json(endpointPingResult, "Whether it went out"), ...problems },
      }),
      async (c) => c.json(await svc.pingEndpointById(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    );
}
