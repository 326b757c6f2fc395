import { createRoute, type z } from "@hono/zod-openapi";
import {
  alarmCancelBody,
  alarmCommentBody,
  alarmConflict,
  alarmDetail,
  alarmList,
  alarmListQuery,
  alarmReopenBody,
  alarmResolveBody,
  alarmSummary,
  alarmTakeBody,
  idParam,
} from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as svc from "./service";

const conflictResponse = {
  409: {
    content: { "application/problem+json": { schema: alarmConflict } },
    description: "The alarm is not in a state for this (e.g. someone else took it): who holds it, since when",
  },
};

const transitionRoute = <B extends z.ZodType>(path: string, summary: string, body: B) =>
  createRoute({
    method: "post",
    path,
    summary,
    tags: ["alarms"],
    ...guardedBy("alarm:acknowledge"),
    request: { params: idParam, ...jsonBody(body) },
    responses: { 200: json(alarmSummary, "The alarm after the change"), ...problems, ...conflictResponse },
  });

export function alarmRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Alarms in the caller's departments, newest first, filtered",
        tags: ["alarms"],
        ...guardedBy("alarm:read"),
        request: { query: alarmListQuery },
        responses: { 200: json(alarmList, "A page of alarms"), ...problems },
      }),
      async (c) => c.json(await svc.listAlarms(deps, callerOf(c, deps), c.req.valid("query")), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        summary: "One alarm with its transitions and notification attempts (logged)",
        tags: ["alarms"],
        ...guardedBy("alarm:read"),
        request: { params: idParam },
        responses: { 200: json(alarmDetail, "The alarm"), ...problems },
      }),
      async (c) => c.json(await svc.getAlarm(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    )
    .openapi(
      transitionRoute(
        "/{id}/take",
        "Take (acknowledge) an open alarm; assigns it to the caller",
        alarmTakeBody,
      ),
      async (c) =>
        c.json(
          await svc.takeAlarm(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json").note),
          200,
        ),
    )
    .openapi(transitionRoute("/{id}/comments", "Add a note to an alarm", alarmCommentBody), async (c) =>
      c.json(
        await svc.commentAlarm(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json").note),
        200,
      ),
    )
    .openapi(
      transitionRoute("/{id}/resolve", "Resolve an alarm with an outcome and a note", alarmResolveBody),
      async (c) =>
        c.json(
          await svc.resolveAlarm(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    )
    .openapi(
      transitionRoute("/{id}/cancel", "Cancel an alarm as a false alarm", alarmCancelBody),
      async (c) =>
        c.json(
          await svc.cancelAlarm(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json").note),
          200,
        ),
    )
    .openapi(
      transitionRoute("/{id}/reopen", "Reopen a resolved or cancelled alarm", alarmReopenBody),
      async (c) =>
        c.json(
          await svc.reopenAlarm(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json").note),
          200,
        ),
    );
}
