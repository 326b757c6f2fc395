import { createRoute, z } from "@hono/zod-openapi";
import { apiToken, apiTokenCreate, apiTokenCreated, idParam } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { guardedBy, json, problems, userCallerOf } from "../route-helpers";
import * as svc from "./service";

/** Tokens are managed by people only: a token never mints tokens. */
export function tokenRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "API tokens of the organisation",
        tags: ["tokens"],
        ...guardedBy("token:manage"),
        responses: { 200: json(z.array(apiToken), "Tokens (without secrets)"), ...problems },
      }),
      async (c) => c.json(await svc.listTokens(deps, userCallerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary:
          "Create an integration token scoped to departments and permissions; the secret is shown once",
        tags: ["tokens"],
        ...guardedBy("token:manage"),
        request: { body: { content: { "application/json": { schema: apiTokenCreate } }, required: true } },
        responses: { 201: json(apiTokenCreated, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createToken(deps, userCallerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        summary: "Revoke a token",
        tags: ["tokens"],
        ...guardedBy("token:manage"),
        request: { params: idParam },
        responses: { 200: json(apiToken, "Revoked"), ...problems },
      }),
      async (c) => c.json(await svc.revokeToken(deps, userCallerOf(c, deps), c.req.valid("param").id), 200),
    );
}
