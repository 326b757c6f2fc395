import { createRoute, z } from "@hono/zod-openapi";
import { activityEntry, activityQuery, activityVerifyResult, idParam } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, problems } from "../route-helpers";
import * as svc from "./reader";

export function activityRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Query the activity log by user, recipient, action and time",
        tags: ["activity"],
        ...guardedBy("activity:read"),
        request: { query: activityQuery },
        responses: { 200: json(z.array(activityEntry), "Newest first"), ...problems },
      }),
      async (c) => c.json(await svc.queryActivity(deps, callerOf(c, deps), c.req.valid("query")), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/export.csv",
        summary: "The same query as CSV (the export itself is logged)",
        tags: ["activity"],
        ...guardedBy("activity:read"),
        request: { query: activityQuery },
        responses: {
          200: { content: { "text/csv": { schema: z.string() } }, description: "CSV" },
          ...problems,
        },
      }),
      async (c) => {
        const csv = await svc.exportActivityCsv(deps, callerOf(c, deps), c.req.valid("query"));
        return c.body(csv, 200, {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": 'attachment; filename="activity-log.csv"',
        });
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/verify",
        summary: "Verify the organisation's keyed hash chain and its signed checkpoints",
        tags: ["activity"],
        ...guardedBy("activity:read"),
        responses: { 200: json(activityVerifyResult, "Verification result"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.verifyActivityLog(
            deps.pool,
            callerOf(c, deps).organisationId,
            deps.activityLog,
            deps.clock.now(),
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/recipients/{id}",
        summary: "Everything logged about one recipient: who has looked at their position",
        tags: ["activity"],
        ...guardedBy("activity:read"),
        request: { params: idParam },
        responses: { 200: json(z.array(activityEntry), "Newest first"), ...problems },
      }),
      async (c) => c.json(await svc.recipientActivity(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    );
}
