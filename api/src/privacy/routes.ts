import { createRoute, z } from "@hono/zod-openapi";
import {
  erasureRecord,
  exportQuery,
  idParam,
  privacyReason,
  reasonRequiredQuery,
  recipient,
  recipientExport,
  restrictedRecipient,
  retentionRun,
  retentionSettingsUpdate,
  retentionSettingsView,
} from "@vakt/schemas";
import { type Router, router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import { buildRecipientExport, exportZip } from "./export";
import * as svc from "./settings";

const tags = ["privacy"];
const restriction = z.object({
  id: z.uuid(),
  departmentId: z.uuid(),
  restrictedAt: z.iso.datetime().nullable(),
});

/** Retention, restriction, erasure and export: /api/v1/privacy. */
export function privacyRoutes(deps: ApiDeps) {
  const r = router();
  retentionRoutes(r, deps);
  restrictionRoutes(r, deps);
  accessRoutes(r, deps);
  erasureRoutes(r, deps);
  return r;
}

/** How long data is kept, and what the retention runs removed. */
function retentionRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/retention",
        summary: "How long the organisation keeps each kind of data",
        tags,
        ...guardedBy("organisation:manage"),
        responses: { 200: json(retentionSettingsView, "Retention settings"), ...problems },
      }),
      async (c) => c.json(await svc.getRetentionSettings(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/retention",
        summary: "Change retention (logged with before and after)",
        tags,
        ...guardedBy("organisation:manage"),
        request: jsonBody(retentionSettingsUpdate),
        responses: { 200: json(retentionSettingsView, "Retention settings"), ...problems },
      }),
      async (c) =>
        c.json(await svc.updateRetentionSettings(deps, callerOf(c, deps), c.req.valid("json")), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/retention/runs",
        summary: "The latest retention runs with what they removed in this organisation",
        tags,
        ...guardedBy("organisation:manage"),
        responses: { 200: json(z.array(retentionRun), "Newest first"), ...problems },
      }),
      async (c) => c.json(await svc.listRetentionRuns(deps, callerOf(c, deps)), 200),
    );
}

/** Restricting a recipient's processing (GDPR art. 18) and lifting it. */
function restrictionRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/restrictions",
        summary: "Recipients whose processing is restricted (ids only)",
        tags,
        ...guardedBy("organisation:manage"),
        responses: { 200: json(z.array(restrictedRecipient), "Restricted recipients"), ...problems },
      }),
      async (c) => c.json(await svc.listRestricted(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "put",
        path: "/recipients/{id}/restriction",
        summary: "Restrict processing of a recipient's data (GDPR art. 18; reason logged)",
        tags,
        ...guardedBy("recipient:manage"),
        request: { params: idParam, ...jsonBody(privacyReason) },
        responses: { 200: json(restriction, "Restricted"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.setRestriction(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            true,
            c.req.valid("json").reason,
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/recipients/{id}/restriction",
        summary: "Lift a restriction (reason logged)",
        tags,
        ...guardedBy("recipient:manage"),
        request: { params: idParam, query: reasonRequiredQuery },
        responses: { 200: json(restriction, "Not restricted"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.setRestriction(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            false,
            c.req.valid("query").reason,
          ),
          200,
        ),
    );
}

/** A recipient's data for an administrator giving a reason, and its export (GDPR art. 15, 20). */
function accessRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/recipients/{id}",
        summary: "A recipient, restricted or not, for an organisation administrator giving a reason (logged)",
        tags,
        ...guardedBy("organisation:manage"),
        request: { params: idParam, query: reasonRequiredQuery },
        responses: {
          200: json(recipient.extend({ restrictedAt: z.iso.datetime().nullable() }), "The recipient"),
          ...problems,
        },
      }),
      async (c) =>
        c.json(
          await svc.viewRecipientWithReason(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            c.req.valid("query").reason,
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/recipients/{id}/export",
        summary:
          "Everything stored about a recipient, as JSON or CSV files in a zip (GDPR art. 15, 20; logged)",
        tags,
        ...guardedBy("recipient:manage"),
        request: { params: idParam, query: exportQuery },
        responses: {
          200: {
            content: {
              "application/json": { schema: recipientExport },
              "application/zip": { schema: z.string().describe("binary") },
            },
            description: "The export",
          },
          ...problems,
        },
      }),
      async (c) => {
        const q = c.req.valid("query");
        const id = c.req.valid("param").id;
        const e = await buildRecipientExport(deps, callerOf(c, deps), id, q);
        if (q.format === "json") return c.json(e, 200);
        const zip = exportZip(e);
        return c.body(zip.slice().buffer as ArrayBuffer, 200, {
          "content-type": "application/zip",
          "content-disposition": `attachment; filename="vakt-recipient-${id}.zip"`,
        });
      },
    );
}

/** Erasing a recipient (GDPR art. 17) and the records of erasures. */
function erasureRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "post",
        path: "/recipients/{id}/erasure",
        summary:
          "Erase a recipient (GDPR art. 17): positions and personal data go, alarm documentation stays",
        tags,
        ...guardedBy("organisation:manage"),
        request: { params: idParam, ...jsonBody(privacyReason) },
        responses: { 200: json(erasureRecord, "The erasure record"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.eraseRecipientOnRequest(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            c.req.valid("json").reason,
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/erasures",
        summary: "Erasure records: who was erased (by former id), when, why, and what was kept",
        tags,
        ...guardedBy("organisation:manage"),
        responses: { 200: json(z.array(erasureRecord), "Newest first"), ...problems },
      }),
      async (c) => c.json(await svc.listErasures(deps, callerOf(c, deps)), 200),
    );
}
