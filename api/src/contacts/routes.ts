import { createRoute, z } from "@hono/zod-openapi";
import {
  alarmCallBody,
  alarmTransitionKind,
  callResult,
  idParam,
  recipientContact,
  recipientContactCreate,
  recipientContactOrder,
  recipientContactUpdate,
} from "@vakt/schemas";
import { requireAnyPermission } from "../auth/middleware";
import { type Router, router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, permissionTag, problems, security } from "../route-helpers";
import * as svc from "./service";

const contactParams = z.object({ id: z.uuid(), contactId: z.uuid() });

/** A recipient's call list, mounted beside the recipient routes (`/recipients/{id}/contacts`). */
export function contactRoutes(deps: ApiDeps) {
  const r = router();
  callListRoutes(r, deps);
  callListChangeRoutes(r, deps);
  return r;
}

/** Reading the call list and adding to it. */
function callListRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}/contacts",
        summary:
          "The recipient's call list, in calling order (logged): for those who take its alarms or manage it; never tokens",
        tags: ["recipients"],
        security,
        // The route lets either in; policy.contactReadDepartments decides per department.
        ...permissionTag(["alarm:acknowledge", "recipient:manage"]),
        middleware: [requireAnyPermission("alarm:acknowledge", "recipient:manage")] as const,
        request: { params: idParam },
        responses: { 200: json(z.array(recipientContact), "The call list"), ...problems },
      }),
      async (c) => c.json(await svc.listContacts(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/{id}/contacts",
        summary: "Add someone to the end of the recipient's call list",
        tags: ["recipients"],
        ...guardedBy("recipient:manage"),
        request: { params: idParam, ...jsonBody(recipientContactCreate) },
        responses: { 201: json(recipientContact, "Added"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.createContact(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          201,
        ),
    );
}

/** Reordering, changing and removing contacts. */
function callListChangeRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "put",
        path: "/{id}/contacts/order",
        summary: "Put the call list in a new order (every contact once)",
        tags: ["recipients"],
        ...guardedBy("recipient:manage"),
        request: { params: idParam, ...jsonBody(recipientContactOrder) },
        responses: { 200: json(z.array(recipientContact), "The call list in its new order"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.reorderContacts(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            c.req.valid("json").ids,
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}/contacts/{contactId}",
        summary: "Change (rectify) a contact on the call list",
        tags: ["recipients"],
        ...guardedBy("recipient:manage"),
        request: { params: contactParams, ...jsonBody(recipientContactUpdate) },
        responses: { 200: json(recipientContact, "Changed"), ...problems },
      }),
      async (c) => {
        const p = c.req.valid("param");
        return c.json(
          await svc.updateContact(deps, callerOf(c, deps), p.id, p.contactId, c.req.valid("json")),
          200,
        );
      },
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}/contacts/{contactId}",
        summary: "Remove a contact from the call list",
        tags: ["recipients"],
        ...guardedBy("recipient:manage"),
        request: { params: contactParams },
        responses: { 204: { description: "Removed" }, ...problems },
      }),
      async (c) => {
        const p = c.req.valid("param");
        await svc.deleteContact(deps, callerOf(c, deps), p.id, p.contactId);
        return c.body(null, 204);
      },
    );
}

const callLogged = z.object({
  id: z.number().int(),
  at: z.iso.datetime(),
  kind: alarmTransitionKind.extract(["called"]),
  contactId: z.uuid(),
  result: callResult,
});

/** `POST /alarms/{id}/calls`, mounted beside the alarm routes. */
export function alarmCallRoutes(deps: ApiDeps) {
  return router().openapi(
    createRoute({
      method: "post",
      path: "/{id}/calls",
      summary: "Log a call to someone on the recipient's call list (reached, no answer, wrong number)",
      tags: ["alarms"],
      ...guardedBy("alarm:acknowledge"),
      request: { params: idParam, ...jsonBody(alarmCallBody) },
      responses: { 201: json(callLogged, "Logged in the alarm's history"), ...problems },
    }),
    async (c) => {
      const r = await svc.logCall(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json"));
      return c.json({ ...r, kind: "called" as const }, 201);
    },
  );
}
