/** "Locate now" over HTTP: `POST /devices/{id}/locate` and `POST /recipients/{id}/locate` (service: locate.ts). */
import { createRoute, z } from "@hono/zod-openapi";
import { idParam, locateResult } from "@vakt/schemas";
import { requireAnyPermission } from "../auth/middleware";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, json, jsonBody, permissionTag, problems, security } from "../route-helpers";
import { locateDevice, locateRecipient } from "./locate";

const locateBody = z.object({ reason: z.string().trim().min(3).max(500).optional() });

/** `POST /{id}/locate`, by device or by recipient: the same permissions, body and answer. */
function locateRoute(
  deps: ApiDeps,
  o: { tag: "devices" | "recipients"; summary: string; locate: typeof locateDevice },
) {
  return router().openapi(
    createRoute({
      method: "post",
      path: "/{id}/locate",
      summary: o.summary,
      tags: [o.tag],
      security,
      ...permissionTag(["position:read", "position:locate", "device:locate"]),
      middleware: [requireAnyPermission("position:read", "position:locate", "device:locate")] as const,
      request: { params: idParam, ...jsonBody(locateBody) },
      responses: { 202: json(locateResult, "Sent to the device"), ...problems },
    }),
    async (c) =>
      c.json(
        await o.locate(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json").reason),
        202,
      ),
  );
}

/** Commands to a device (mounted beside the device routes). */
export const deviceLocateRoutes = (deps: ApiDeps) =>
  locateRoute(deps, {
    tag: "devices",
    summary: "Ask the device for its position now (logged; locators give a reason)",
    locate: locateDevice,
  });

/** Locate by recipient (mounted beside the recipient routes): for locators, who may not list devices. */
export const recipientLocateRoutes = (deps: ApiDeps) =>
  locateRoute(deps, {
    tag: "recipients",
    summary: "Ask the recipient's device for its position now (logged; locators give a reason)",
    locate: locateRecipient,
  });
