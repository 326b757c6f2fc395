/**
 * What the OpenAPI document says beyond the routes themselves: operation ids, shared schemas
 * as components, `security: []` on public routes, and `servers`. The document is generated
 * into `api/openapi/` (`npm run openapi -w @vakt/api`), with the TypeScript types that the
 * typed client (openapi-fetch) is checked against; openapi.test.ts fails when either is stale.
 */

import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { zodToOpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import * as contracts from "@vakt/schemas";
import { z } from "zod";

/**
 * The operationId of every operation, by "METHOD path". Stable names: the generated client and
 * integrators' code use them. A route added without an entry here fails openapi.test.ts.
 */
export const OPERATION_IDS: Record<string, string> = {
  "POST /api/v1/auth/login": "login",
  "POST /api/v1/auth/second-factor": "verifySecondFactor",
  "POST /api/v1/auth/totp/setup": "startTotpSetup",
  "POST /api/v1/auth/totp/enable": "enableTotp",
  "POST /api/v1/auth/totp/disable": "disableTotp",
  "GET /api/v1/auth/sessions": "listOwnSessions",
  "POST /api/v1/auth/logout-others": "logoutOtherSessions",
  "GET /api/v1/auth/me": "getMe",
  "GET /api/v1/auth/profile": "getProfile",
  "PATCH /api/v1/auth/profile": "updateProfile",
  "POST /api/v1/auth/logout": "logout",
  "POST /api/v1/auth/logout-everywhere": "logoutEverywhere",
  "POST /api/v1/auth/invitations/accept": "acceptInvitation",
  "POST /api/v1/auth/password-reset": "requestPasswordReset",
  "POST /api/v1/auth/password-reset/confirm": "confirmPasswordReset",
  "GET /api/v1/auth/sso/providers": "listSsoProvidersForEmail",
  "GET /api/v1/auth/sso/{id}/start": "startSso",
  "GET /api/v1/auth/sso/callback": "ssoCallback",
  "GET /api/v1/organisation": "getOrganisation",
  "PATCH /api/v1/organisation": "updateOrganisation",
  "GET /api/v1/organisation/login-settings": "getLoginSettings",
  "PUT /api/v1/organisation/login-settings": "setLoginSettings",
  "GET /api/v1/departments": "listDepartments",
  "POST /api/v1/departments": "createDepartment",
  "PATCH /api/v1/departments/{id}": "updateDepartment",
  "POST /api/v1/departments/{id}/close": "closeDepartment",
  "GET /api/v1/users": "listUsers",
  "POST /api/v1/users": "inviteUser",
  "GET /api/v1/users/{id}": "getUser",
  "PATCH /api/v1/users/{id}": "updateUser",
  "GET /api/v1/recipients": "listRecipients",
  "POST /api/v1/recipients": "createRecipient",
  "GET /api/v1/recipients/{id}": "getRecipient",
  "PATCH /api/v1/recipients/{id}": "updateRecipient",
  "GET /api/v1/recipients/{id}/contacts": "listRecipientContacts",
  "POST /api/v1/recipients/{id}/contacts": "createRecipientContact",
  "PUT /api/v1/recipients/{id}/contacts/order": "reorderRecipientContacts",
  "PATCH /api/v1/recipients/{id}/contacts/{contactId}": "updateRecipientContact",
  "DELETE /api/v1/recipients/{id}/contacts/{contactId}": "deleteRecipientContact",
  "GET /api/v1/devices": "listDevices",
  "POST /api/v1/devices": "provisionDevice",
  "GET /api/v1/devices/{id}": "getDevice",
  "POST /api/v1/devices/{id}/rotate-credentials": "rotateDeviceCredentials",
  "PUT /api/v1/devices/{id}/recipient": "assignDevice",
  "POST /api/v1/devices/{id}/swap": "swapDevice",
  "PUT /api/v1/devices/{id}/config": "setDeviceConfig",
  "POST /api/v1/devices/{id}/locate": "locateDevice",
  "POST /api/v1/recipients/{id}/locate": "locateRecipient",
  "GET /api/v1/alarms": "listAlarms",
  "GET /api/v1/alarms/{id}": "getAlarm",
  "POST /api/v1/alarms/{id}/take": "takeAlarm",
  "POST /api/v1/alarms/{id}/comments": "commentAlarm",
  "POST /api/v1/alarms/{id}/calls": "logAlarmCall",
  "POST /api/v1/alarms/{id}/resolve": "resolveAlarm",
  "POST /api/v1/alarms/{id}/cancel": "cancelAlarm",
  "POST /api/v1/alarms/{id}/reopen": "reopenAlarm",
  "GET /api/v1/alert-rules": "listAlertRules",
  "POST /api/v1/alert-rules": "createAlertRule",
  "GET /api/v1/alert-rules/{id}": "getAlertRule",
  "PATCH /api/v1/alert-rules/{id}": "updateAlertRule",
  "DELETE /api/v1/alert-rules/{id}": "deleteAlertRule",
  "GET /api/v1/alert-targets": "listAlertTargets",
  "GET /api/v1/alert-endpoints": "listAlertEndpoints",
  "POST /api/v1/alert-endpoints": "createAlertEndpoint",
  "PATCH /api/v1/alert-endpoints/{id}": "updateAlertEndpoint",
  "DELETE /api/v1/alert-endpoints/{id}": "deleteAlertEndpoint",
  "POST /api/v1/alert-endpoints/{id}/ping": "pingAlertEndpoint",
  "GET /api/v1/geofences": "listGeofences",
  "POST /api/v1/geofences": "createGeofence",
  "PATCH /api/v1/geofences/{id}": "updateGeofence",
  "DELETE /api/v1/geofences/{id}": "deleteGeofence",
  "GET /api/v1/positions/current": "listCurrentPositions",
  "GET /api/v1/positions/recipients/{id}/history": "getPositionHistory",
  "GET /api/v1/activity": "queryActivity",
  "GET /api/v1/activity/export.csv": "exportActivityCsv",
  "GET /api/v1/activity/verify": "verifyActivityLog",
  "GET /api/v1/activity/recipients/{id}": "getRecipientActivity",
  "GET /api/v1/tokens": "listTokens",
  "POST /api/v1/tokens": "createToken",
  "DELETE /api/v1/tokens/{id}": "revokeToken",
  "GET /api/v1/dead-letters": "listDeadLetters",
  "GET /api/v1/device-messages": "listDeviceMessages",
  "GET /api/v1/privacy/retention": "getRetention",
  "PATCH /api/v1/privacy/retention": "updateRetention",
  "GET /api/v1/privacy/retention/runs": "listRetentionRuns",
  "GET /api/v1/privacy/restrictions": "listRestrictions",
  "PUT /api/v1/privacy/recipients/{id}/restriction": "restrictRecipient",
  "DELETE /api/v1/privacy/recipients/{id}/restriction": "liftRestriction",
  "GET /api/v1/privacy/recipients/{id}": "getRecipientForPrivacy",
  "GET /api/v1/privacy/recipients/{id}/export": "exportRecipientData",
  "POST /api/v1/privacy/recipients/{id}/erasure": "eraseRecipient",
  "GET /api/v1/privacy/erasures": "listErasures",
  "GET /api/v1/sso-providers": "listSsoProviders",
  "POST /api/v1/sso-providers": "createSsoProvider",
  "PATCH /api/v1/sso-providers/{id}": "updateSsoProvider",
  "DELETE /api/v1/sso-providers/{id}": "deleteSsoProvider",
};

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** The parts of a registered route (createRoute's config) read or set here. */
type RouteDefinition = {
  method: string;
  path: string;
  operationId?: string;
  security?: unknown;
  "x-permission"?: unknown;
  request?: Partial<Record<"params" | "query" | "headers" | "cookies" | "body", unknown>>;
};

/**
 * Names the operations of `app` and makes the shared schemas components. Call after every
 * route is mounted; the document is generated from the registry when it is first asked for.
 */
export function describeOperations(app: { openAPIRegistry: OpenAPIRegistry }) {
  const routes = app.openAPIRegistry.definitions.flatMap((d) =>
    d.type === "route" ? [d.route as unknown as RouteDefinition] : [],
  );
  // Request parameters stay inline (OpenAPI has no $ref for a whole parameter object).
  const inParameters = new Set<unknown>();
  for (const r of routes) {
    for (const k of ["params", "query", "headers", "cookies"] as const)
      if (r.request?.[k]) inParameters.add(r.request[k]);
    const id = OPERATION_IDS[`${r.method.toUpperCase()} ${r.path}`];
    if (id && !r.operationId) r.operationId = id;
    if (r.security === undefined) {
      if (r["x-permission"] === "public") r.security = [];
      // "session" routes serve people only (userCallerOf): the session cookie, never a token.
      if (r["x-permission"] === "session") r.security = [{ session: [] }];
    }
  }
  for (const [name, value] of Object.entries(contracts)) {
    if (!(value instanceof z.ZodType) || inParameters.has(value)) continue;
    if (
      !(
        value instanceof z.ZodObject ||
        value instanceof z.ZodArray ||
        value instanceof z.ZodDiscriminatedUnion ||
        value instanceof z.ZodUnion ||
        value instanceof z.ZodEnum
      )
    )
      continue;
    if (/(Param|Params|Query|Env)$/.test(name) || zodToOpenAPIRegistry.get(value)) continue;
    zodToOpenAPIRegistry.add(value, { _internal: { refId: pascal(name) } });
  }
  // Every path id is the same schema instance: one component.
  const id = contracts.idParam.shape.id;
  if (!zodToOpenAPIRegistry.get(id)) zodToOpenAPIRegistry.add(id, { _internal: { refId: "Id" } });
}
