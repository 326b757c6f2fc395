import { createRoute } from "@hono/zod-openapi";
import { deadLetterPage, deadLetterQuery } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, problems } from "../route-helpers";
import { listDeadLetters } from "./service";

export function deadLetterRoutes(deps: ApiDeps) {
  return router().openapi(
    createRoute({
      method: "get",
      path: "/",
      summary: "Messages from the caller's devices that ingest refused, newest first, with the reason",
      tags: ["devices"],
      ...guardedBy("device:manage"),
      request: { query: deadLetterQuery },
      responses: { 200: json(deadLetterPage, "A page of dead letters"), ...problems },
    }),
    async (c) => c.json(await listDeadLetters(deps, callerOf(c, deps), c.req.valid("query")), 200),
  );
}
