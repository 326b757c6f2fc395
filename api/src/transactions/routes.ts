import { createRoute } from "@hono/zod-openapi";
import { deviceMessagePage, deviceMessageQuery } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, problems } from "../route-helpers";
import { listDeviceMessages } from "./service";

export function deviceMessageRoutes(deps: ApiDeps) {
  return router().openapi(
    createRoute({
      method: "get",
      path: "/",
      summary: "A device's transactions log: every message it sent and was sent, newest first",
      tags: ["devices"],
      ...guardedBy("device:manage"),
      request: { query: deviceMessageQuery },
      responses: { 200: json(deviceMessagePage, "A page of the device's messages"), ...problems },
    }),
    async (c) => c.json(await listDeviceMessages(deps, callerOf(c, deps), c.req.valid("query")), 200),
  );
}
