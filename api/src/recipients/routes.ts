import { createRoute, z } from "@hono/zod-openapi";
import { idParam, recipient, recipientCreate, recipientUpdate } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as svc from "./service";

export function recipientRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Recipients in the caller's departments",
        tags: ["recipients"],
        ...guardedBy("recipient:read"),
        responses: { 200: json(z.array(recipient), "Recipients"), ...problems },
      }),
      async (c) => c.json(await svc.listRecipients(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        summary: "One recipient",
        tags: ["recipients"],
        ...guardedBy("recipient:read"),
        request: { params: idParam },
        responses: { 200: json(recipient, "The recipient"), ...problems },
      }),
      async (c) => c.json(await svc.getRecipient(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Register a recipient with the legal basis for tracking",
        tags: ["recipients"],
        ...guardedBy("recipient:manage"),
        request: jsonBody(recipientCreate),
        responses: { 201: json(recipient, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createRecipient(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Change a recipient (details, department, legal basis, status)",
        tags: ["recipients"],
        ...guardedBy("recipient:manage"),
        request: { params: idParam, ...jsonBody(recipientUpdate) },
        responses: { 200: json(recipient, "Updated"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateRecipient(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    );
}
