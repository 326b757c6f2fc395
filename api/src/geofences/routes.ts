import { createRoute, z } from "@hono/zod-openapi";
import { geofence, geofenceCreate, geofenceUpdate, idParam } from "@vakt/schemas";
import { requireAnyPermission } from "../auth/middleware";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, permissionTag, problems, security } from "../route-helpers";
import * as svc from "./service";

export function geofenceRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "A recipient's geofences",
        tags: ["geofences"],
        // A home-zone circle says where the person lives: shown to those who manage geofences or see
        // positions. Not to locators: they look up one position at a time, with a reason, and no more.
        security,
        ...permissionTag(["geofence:manage", "position:read"]),
        middleware: [requireAnyPermission("geofence:manage", "position:read")] as const,
        request: { query: z.object({ recipientId: z.uuid() }) },
        responses: { 200: json(z.array(geofence), "Geofences"), ...problems },
      }),
      async (c) =>
        c.json(await svc.listGeofences(deps, callerOf(c, deps), c.req.valid("query").recipientId), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Add a geofence (circle or polygon, optional daily window)",
        tags: ["geofences"],
        ...guardedBy("geofence:manage"),
        request: jsonBody(geofenceCreate.extend({ recipientId: z.uuid() })),
        responses: { 201: json(geofence, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createGeofence(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Change a geofence",
        tags: ["geofences"],
        ...guardedBy("geofence:manage"),
        request: { params: idParam, ...jsonBody(geofenceUpdate) },
        responses: { 200: json(geofence, "Updated"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateGeofence(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        summary: "Remove a geofence",
        tags: ["geofences"],
        ...guardedBy("geofence:manage"),
        request: { params: idParam },
        responses: { 204: { description: "Removed" }, ...problems },
      }),
      async (c) => {
        await svc.deleteGeofence(deps, callerOf(c, deps), c.req.valid("param").id);
        return c.body(null, 204);
      },
    );
}
