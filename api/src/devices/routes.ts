import { createRoute, z } from "@hono/zod-openapi";
import {
  device,
  deviceAssign,
  deviceConfigure,
  deviceCreate,
  deviceCredentials,
  deviceSwap,
  idParam,
} from "@vakt/schemas";
import { type Router, router } from "../context";
import type { ApiDeps } from "../deps";
import { callerOf, guardedBy, json, jsonBody, problems } from "../route-helpers";
import * as svc from "./service";

export function deviceRoutes(deps: ApiDeps) {
  const r = router();
  deviceReadRoutes(r, deps);
  provisioningRoutes(r, deps);
  assignmentRoutes(r, deps);
  configurationRoutes(r, deps);
  return r;
}

/** Reading devices. */
function deviceReadRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        summary: "Devices in the caller's departments",
        tags: ["devices"],
        ...guardedBy("device:read"),
        responses: { 200: json(z.array(device), "Devices"), ...problems },
      }),
      async (c) => c.json(await svc.listDevices(deps, callerOf(c, deps)), 200),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        summary: "One device",
        tags: ["devices"],
        ...guardedBy("device:read"),
        request: { params: idParam },
        responses: { 200: json(device, "The device"), ...problems },
      }),
      async (c) => c.json(await svc.getDevice(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    );
}

/** Provisioning a device and rotating its MQTT password. */
function provisioningRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        summary: "Provision a device; its MQTT password is shown once",
        tags: ["devices"],
        ...guardedBy("device:manage"),
        request: jsonBody(deviceCreate),
        responses: { 201: json(deviceCredentials, "Provisioned"), ...problems },
      }),
      async (c) => c.json(await svc.provisionDevice(deps, callerOf(c, deps), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/{id}/rotate-credentials",
        summary: "Issue a new MQTT password (shown once); the old one stops working",
        tags: ["devices"],
        ...guardedBy("device:manage"),
        request: { params: idParam },
        responses: { 200: json(deviceCredentials, "New credentials"), ...problems },
      }),
      async (c) => c.json(await svc.rotateCredentials(deps, callerOf(c, deps), c.req.valid("param").id), 200),
    );
}

/** Whom a device belongs to: assigning it, and swapping it for another. */
function assignmentRoutes(r: Router, deps: ApiDeps) {
  return r
    .openapi(
      createRoute({
        method: "put",
        path: "/{id}/recipient",
        summary: "Assign the device to a recipient, or unassign it (null)",
        tags: ["devices"],
        ...guardedBy("device:manage"),
        request: { params: idParam, ...jsonBody(deviceAssign) },
        responses: { 200: json(device, "Assigned"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.assignDevice(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            c.req.valid("json").recipientId,
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/{id}/swap",
        summary: "Replace the device with another, keeping recipient and settings; the old one is retired",
        tags: ["devices"],
        ...guardedBy("device:manage"),
        request: { params: idParam, ...jsonBody(deviceSwap) },
        responses: { 200: json(device, "The replacement"), ...problems },
      }),
      async (c) =>
        c.json(
          await svc.swapDevice(
            deps,
            callerOf(c, deps),
            c.req.valid("param").id,
            c.req.valid("json").replacementDeviceId,
          ),
          200,
        ),
    );
}

/** The device's desired configuration. */
function configurationRoutes(r: Router, deps: ApiDeps) {
  return r.openapi(
    createRoute({
      method: "put",
      path: "/{id}/config",
      summary: "Set the desired configuration; published retained to the device",
      tags: ["devices"],
      ...guardedBy("device:configure"),
      request: { params: idParam, ...jsonBody(deviceConfigure) },
      responses: { 200: json(device, "Configured"), ...problems },
    }),
    async (c) =>
      c.json(
        await svc.configureDevice(
          deps,
          callerOf(c, deps),
          c.req.valid("param").id,
          c.req.valid("json").settings,
        ),
        200,
      ),
  );
}
