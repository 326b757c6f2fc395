import { createRoute, type z } from "@hono/zod-openapi";
import { currentPositions, historyQuery, idParam, positionHistory, reasonQuery } from "@vakt/schemas";
import type { TypedResponse } from "hono";
import { requireAnyPermission } from "../auth/middleware";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, permissionTag, problems, security } from "../route-helpers";
import * as svc from "./service";

export function positionRoutes(deps: ApiDeps) {
  const caps = svc.capabilitiesLoader(deps);
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/current",
        summary: "Latest position of every recipient the caller may see (logged; not for locators)",
        tags: ["positions"],
        ...guardedBy("position:read"),
        request: { query: reasonQuery },
        responses: { 200: json(currentPositions, "GeoJSON FeatureCollection"), ...problems },
      }),
      // PostgreSQL wrote the JSON (positions/service.ts): sent as it came, not parsed and re-serialised.
      async (c) =>
        // The cast keeps the typed client's view of the answer: the text equals what c.json would send (positions/positions-json.int.test.ts).
        c.body(await svc.currentPositionsJson(deps, callerOf(c, deps), c.req.valid("query").reason), 200, {
          "content-type": "application/json",
        }) as unknown as TypedResponse<z.infer<typeof currentPositions>, 200, "json">,
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/recipients/{id}/history",
        summary: "One recipient's positions over a time range, downsampled for long ranges (logged)",
        tags: ["positions"],
        security,
        ...permissionTag(["position:read", "position:locate"]),
        middleware: [requireAnyPermission("position:read", "position:locate")] as const,
        request: { params: idParam, query: historyQuery },
        responses: { 200: json(positionHistory, "Positions, oldest first"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.positionHistory(
            deps,
            callerOf(c, deps),
            caps,
            c.req.valid("param").id,
            c.req.valid("query"),
          ),
          200,
        ),
    );
}
