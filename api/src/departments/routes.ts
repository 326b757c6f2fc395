import { createRoute, z } from "@hono/zod-openapi";
import { department, departmentCreate, departmentUpdate, idParam } from "@vakt/schemas";
import { router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as svc from "./service";

export function departmentRoutes(deps: ApiDeps) {
  return router()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Departments the caller may see",
        tags: ["departments"],
        ...guardedBy("department:read"),
        responses: { 200: json(z.array(department), "Departments, parents first"), ...problems },
      }),
      async (c) => c.json(await svc.listDepartments(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Create a department or sub-department",
        tags: ["departments"],
        ...guardedBy("department:manage"),
        request: jsonBody(departmentCreate),
        responses: { 201: json(department, "Created"), ...problems },
      }),
      async (c) => c.json(await svc.createDepartment(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{id}",
        summary: "Rename or move a department (with its sub-departments)",
        tags: ["departments"],
        ...guardedBy("department:manage"),
        request: { params: idParam, ...jsonBody(departmentUpdate) },
        responses: { 200: json(department, "Updated"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.updateDepartment(deps, callerOf(c, deps), c.req.valid("param").id, c.req.valid("json")),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/{id}/close",
        summary: "Close a department and its sub-departments",
        tags: ["departments"],
        ...guardedBy("department:manage"),
        request: { params: idParam },
        responses: { 200: json(department, "Closed"), ...problems },
      }),
      async (c) => c.json(await svc.closeDepartment(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    );
}
