import { createRoute, z } from "@hono/zod-openapi";
import { idParam, staffUser, staffUserCreate, staffUserCreated, staffUserUpdate } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as svc from "./service";

export function userRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Staff users with grants in the caller's departments",
        tags: ["users"],
        ...guardedBy("user:read"),
        responses: { 200: json(z.array(staffUser), "Users"), ...problems },
      }),
      async (c) => c.json(await svc.listUsers(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        summary: "One staff user",
        tags: ["users"],
        ...guardedBy("user:read"),
        request: { params: idParam },
        responses: { 200: json(staffUser, "The user"), ...problems },
      }),
      async (c) => c.json(await svc.getUser(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Invite a staff user with roles and department grants",
        tags: ["users"],
        ...guardedBy("user:manage"),
        request: jsonBody(staffUserCreate),
        responses: {
          201: json(staffUserCreated, "Created; the invitation token is shown once"),
          ...problems,
        },
      }),
      async (c) => c.json(await svc.createUser(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Change a staff user's details, status or grants",
        tags: ["users"],
        ...guardedBy("user:manage"),
        request: { params: idParam, ...jsonBody(staffUserUpdate) },
        responses: { 200: json(staffUser, "Updated"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateUser(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    );
}
