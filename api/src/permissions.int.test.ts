/**
 * The permission matrix: every route of the app (read from its own OpenAPI
 * document, so a new route without an entry here fails), for each role with a
 * grant inside and outside the target's department, a user of another
 * organisation, an anonymous caller and an API token, with the expected status.
 *
 * The expected permissions per role are written out here, independently of
 * src/policy.ts, so a change to the policy must be made in both places.
 */
import { randomUUID } from "node:crypto";
import type { RoleKey } from "@vakt/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
} from "../test/harness";

const ROLE_PERMISSIONS: Record<RoleKey, string[]> = {
  org_admin: [
    "organisation:read",
    "organisation:manage",
    "department:read",
    "department:manage",
    "user:read",
    "user:manage",
    "recipient:read",
    "recipient:details",
    "recipient:manage",
    "device:read",
    "device:manage",
    "device:configure",
    "geofence:manage",
    "position:read",
    "position:locate",
    "alarm:read",
    "alarm:acknowledge",
    "routing:manage",
    "activity:read",
    "token:manage",
  ],
  dept_admin: [
    "organisation:read",
    "department:read",
    "department:manage",
    "user:read",
    "user:manage",
    "recipient:read",
    "recipient:details",
    "recipient:manage",
    "device:read",
    "device:manage",
    "device:configure",
    "geofence:manage",
    "routing:manage",
  ],
  operator: [
    "organisation:read",
    "department:read",
    "recipient:read",
    "recipient:details",
    "device:read",
    "device:configure",
    "geofence:manage",
    "position:read",
    "alarm:read",
    "alarm:acknowledge",
  ],
  locator: ["organisation:read", "department:read", "recipient:read", "position:locate"],
  auditor: [
    "organisation:read",
    "department:read",
    "user:read",
    "recipient:read",
    "recipient:details",
    "activity:read",
  ],
};
/** Held only through an organisation-wide grant. */
const ORGANISATION_WIDE = ["organisation:manage", "token:manage"];
const TOKEN_PERMISSIONS = ["recipient:read", "device:read", "alarm:read", "position:read"];

/** What the target of each case is: all of it lives in department A1 of the organisation. */
interface Fixture {
  org: TestOrg;
  departmentId: string;
  recipientId: string;
  deviceId: string;
  spareDeviceId: string;
  geofenceId: string;
  userId: string;
  tokenId: string;
  alarmId: string;
  ruleId: string;
  endpointId: string;
  ssoProviderId: string;
  /** Topic of a dead letter of the target device: unique per case, so it can be looked for in a list. */
  deadLetterTopic: string;
}

type Scope =
  /** A single row: outside the caller's departments it does not exist (404). */
  | "item"
  /** A collection: outside, 200 without the target in it. */
  | "list"
  /** About the caller's own organisation: the same answer inside and outside. */
  | "organisation"
  /** Any logged-in person, no permission. */
  | "session"
  | "public";

interface RouteCase {
  scope: Scope;
  /** Status for a caller allowed to do it (for public routes: for an anonymous caller). */
  ok: number;
  /** For lists: the id that must appear inside and must not appear outside. */
  target?: (f: Fixture) => string;
  request: (f: Fixture) => { method: string; path: string; body?: unknown };
}

const uniq = () => Math.random().toString(36).slice(2, 10);
const from = "2026-03-01T00:00:00Z";
const to = "2026-03-02T11:00:00Z";

const ROUTES: Record<string, RouteCase> = {
  "POST /api/v1/auth/login": {
    scope: "public",
    ok: 401,
    request: () => ({
      method: "POST",
      path: "/api/v1/auth/login",
      body: { email: "x@example.org", password: "nope" },
    }),
  },
  "POST /api/v1/auth/second-factor": {
    scope: "session",
    ok: 409,
    request: () => ({ method: "POST", path: "/api/v1/auth/second-factor", body: { code: "123456" } }),
  },
  "POST /api/v1/auth/totp/setup": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "POST", path: "/api/v1/auth/totp/setup", body: {} }),
  },
  "POST /api/v1/auth/totp/enable": {
    scope: "session",
    ok: 409,
    request: () => ({ method: "POST", path: "/api/v1/auth/totp/enable", body: { code: "123456" } }),
  },
  "GET /api/v1/auth/me": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/auth/me" }),
  },
  "POST /api/v1/auth/logout": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "POST", path: "/api/v1/auth/logout", body: {} }),
  },
  "POST /api/v1/auth/logout-everywhere": {
    scope: "session",
    ok: 204,
    request: () => ({ method: "POST", path: "/api/v1/auth/logout-everywhere", body: {} }),
  },
  "POST /api/v1/auth/invitations/accept": {
    scope: "public",
    ok: 410,
    request: () => ({
      method: "POST",
      path: "/api/v1/auth/invitations/accept",
      body: { token: "vakt_inv_unknown_unknown_unknown", password: "a long password!" },
    }),
  },
  "POST /api/v1/auth/password-reset": {
    scope: "public",
    ok: 202,
    request: () => ({
      method: "POST",
      path: "/api/v1/auth/password-reset",
      body: { email: `n${uniq()}@example.org` },
    }),
  },
  "POST /api/v1/auth/password-reset/confirm": {
    scope: "public",
    ok: 410,
    request: () => ({
      method: "POST",
      path: "/api/v1/auth/password-reset/confirm",
      body: { token: "vakt_rst_unknown_unknown_unknown", password: "a long password!" },
    }),
  },
  "GET /api/v1/auth/sso/providers": {
    scope: "public",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/auth/sso/providers?email=someone%40kommune.test" }),
  },
  "GET /api/v1/auth/sso/{id}/start": {
    scope: "public",
    ok: 404,
    request: () => ({ method: "GET", path: `/api/v1/auth/sso/${randomUUID()}/start?returnTo=%2F` }),
  },
  "GET /api/v1/auth/sso/callback": {
    scope: "public",
    ok: 302,
    request: () => ({ method: "GET", path: "/api/v1/auth/sso/callback?code=x&state=unknown" }),
  },
  "GET /api/v1/sso-providers": {
    scope: "list",
    ok: 200,
    target: (f) => f.ssoProviderId,
    request: () => ({ method: "GET", path: "/api/v1/sso-providers" }),
  },
  "POST /api/v1/sso-providers": {
    scope: "organisation",
    ok: 201,
    request: () => ({
      method: "POST",
      path: "/api/v1/sso-providers",
      body: {
        displayName: `Matrix ${uniq()}`,
        issuer: "https://login.example.org/tenant",
        clientId: "vakt",
        clientSecret: "secret",
      },
    }),
  },
  "PATCH /api/v1/sso-providers/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PATCH",
      path: `/api/v1/sso-providers/${f.ssoProviderId}`,
      body: { emailDomains: ["kommune.test"] },
    }),
  },
  "DELETE /api/v1/sso-providers/{id}": {
    scope: "item",
    ok: 204,
    request: (f) => ({ method: "DELETE", path: `/api/v1/sso-providers/${f.ssoProviderId}` }),
  },
  "GET /api/v1/organisation/login-settings": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/organisation/login-settings" }),
  },
  "PUT /api/v1/organisation/login-settings": {
    scope: "organisation",
    ok: 200,
    // true: the matrix's own callers log in with passwords.
    request: () => ({
      method: "PUT",
      path: "/api/v1/organisation/login-settings",
      body: { localPasswordLogin: true },
    }),
  },
  "GET /api/v1/organisation": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/organisation" }),
  },
  "PATCH /api/v1/organisation": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "PATCH", path: "/api/v1/organisation", body: { timeZone: "Europe/Oslo" } }),
  },
  "GET /api/v1/departments": {
    scope: "list",
    ok: 200,
    target: (f) => f.departmentId,
    request: () => ({ method: "GET", path: "/api/v1/departments" }),
  },
  "POST /api/v1/departments": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/departments",
      body: { name: "New", parentId: f.departmentId },
    }),
  },
  "PATCH /api/v1/departments/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PATCH",
      path: `/api/v1/departments/${f.departmentId}`,
      body: { name: "Renamed" },
    }),
  },
  "POST /api/v1/departments/{id}/close": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "POST", path: `/api/v1/departments/${f.departmentId}/close`, body: {} }),
  },
  "GET /api/v1/users": {
    scope: "list",
    ok: 200,
    target: (f) => f.userId,
    request: () => ({ method: "GET", path: "/api/v1/users" }),
  },
  "GET /api/v1/users/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/users/${f.userId}` }),
  },
  "POST /api/v1/users": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/users",
      body: {
        email: `u${uniq()}@example.org`,
        firstName: "N",
        lastName: "N",
        grants: [{ role: "dept_admin", departmentId: f.org.departments.a1 }],
      },
    }),
  },
  "PATCH /api/v1/users/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "PATCH", path: `/api/v1/users/${f.userId}`, body: { phone: "+4799999999" } }),
  },
  "GET /api/v1/recipients": {
    scope: "list",
    ok: 200,
    target: (f) => f.recipientId,
    request: () => ({ method: "GET", path: "/api/v1/recipients" }),
  },
  "GET /api/v1/recipients/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/recipients/${f.recipientId}` }),
  },
  "POST /api/v1/recipients": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/recipients",
      body: { departmentId: f.org.departments.a1, firstName: "R", lastName: "R", legalBasis: "consent" },
    }),
  },
  "PATCH /api/v1/recipients/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PATCH",
      path: `/api/v1/recipients/${f.recipientId}`,
      body: { responderNotes: "n" },
    }),
  },
  "GET /api/v1/devices": {
    scope: "list",
    ok: 200,
    target: (f) => f.deviceId,
    request: () => ({ method: "GET", path: "/api/v1/devices" }),
  },
  "GET /api/v1/devices/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/devices/${f.deviceId}` }),
  },
  "POST /api/v1/devices": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/devices",
      body: { departmentId: f.org.departments.a1, serial: `M-${uniq()}` },
    }),
  },
  "POST /api/v1/devices/{id}/rotate-credentials": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "POST", path: `/api/v1/devices/${f.deviceId}/rotate-credentials`, body: {} }),
  },
  "PUT /api/v1/devices/{id}/recipient": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PUT",
      path: `/api/v1/devices/${f.deviceId}/recipient`,
      body: { recipientId: null },
    }),
  },
  "POST /api/v1/devices/{id}/swap": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/devices/${f.deviceId}/swap`,
      body: { replacementDeviceId: f.spareDeviceId },
    }),
  },
  "PUT /api/v1/devices/{id}/config": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PUT",
      path: `/api/v1/devices/${f.deviceId}/config`,
      body: {
        settings: {
          reportIntervalS: 60,
          heartbeatIntervalS: 600,
          trackingEnabled: false,
          fallDetection: "off",
          lowBatteryPct: 10,
        },
      },
    }),
  },
  "GET /api/v1/alarms": {
    scope: "list",
    ok: 200,
    target: (f) => f.alarmId,
    request: () => ({ method: "GET", path: "/api/v1/alarms?limit=500" }),
  },
  "GET /api/v1/alarms/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/alarms/${f.alarmId}` }),
  },
  "POST /api/v1/alarms/{id}/take": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "POST", path: `/api/v1/alarms/${f.alarmId}/take`, body: {} }),
  },
  "POST /api/v1/alarms/{id}/comments": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "POST", path: `/api/v1/alarms/${f.alarmId}/comments`, body: { note: "n" } }),
  },
  "POST /api/v1/alarms/{id}/resolve": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/alarms/${f.alarmId}/resolve`,
      body: { outcome: "other", note: "n" },
    }),
  },
  "POST /api/v1/alarms/{id}/cancel": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "POST", path: `/api/v1/alarms/${f.alarmId}/cancel`, body: {} }),
  },
  /** The fixture's alarm is open, so reopening it is a conflict for whoever may try. */
  "POST /api/v1/alarms/{id}/reopen": {
    scope: "item",
    ok: 409,
    request: (f) => ({ method: "POST", path: `/api/v1/alarms/${f.alarmId}/reopen`, body: { note: "n" } }),
  },
  "POST /api/v1/devices/{id}/locate": {
    scope: "item",
    ok: 202,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/devices/${f.deviceId}/locate`,
      body: { reason: "matrix check of access" },
    }),
  },
  "POST /api/v1/recipients/{id}/locate": {
    scope: "item",
    ok: 202,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/recipients/${f.recipientId}/locate`,
      body: { reason: "matrix check of access" },
    }),
  },
  "GET /api/v1/alert-rules": {
    scope: "list",
    ok: 200,
    target: (f) => f.ruleId,
    request: () => ({ method: "GET", path: "/api/v1/alert-rules" }),
  },
  "GET /api/v1/alert-rules/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/alert-rules/${f.ruleId}` }),
  },
  "POST /api/v1/alert-rules": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/alert-rules",
      body: { departmentId: f.org.departments.a1, name: "r", steps: [{ waitS: 60, roles: ["operator"] }] },
    }),
  },
  "PATCH /api/v1/alert-rules/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "PATCH", path: `/api/v1/alert-rules/${f.ruleId}`, body: { enabled: false } }),
  },
  "DELETE /api/v1/alert-rules/{id}": {
    scope: "item",
    ok: 204,
    request: (f) => ({ method: "DELETE", path: `/api/v1/alert-rules/${f.ruleId}` }),
  },
  "GET /api/v1/alert-endpoints": {
    scope: "list",
    ok: 200,
    target: (f) => f.endpointId,
    request: () => ({ method: "GET", path: "/api/v1/alert-endpoints" }),
  },
  "POST /api/v1/alert-endpoints": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/alert-endpoints",
      body: { departmentId: f.org.departments.a1, name: "e", kind: "email", target: "duty@example.org" },
    }),
  },
  "PATCH /api/v1/alert-endpoints/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PATCH",
      path: `/api/v1/alert-endpoints/${f.endpointId}`,
      body: { name: "x" },
    }),
  },
  "DELETE /api/v1/alert-endpoints/{id}": {
    scope: "item",
    ok: 204,
    request: (f) => ({ method: "DELETE", path: `/api/v1/alert-endpoints/${f.endpointId}` }),
  },
  "POST /api/v1/alert-endpoints/{id}/ping": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "POST", path: `/api/v1/alert-endpoints/${f.endpointId}/ping`, body: {} }),
  },
  "GET /api/v1/geofences": {
    scope: "list",
    ok: 200,
    target: (f) => f.geofenceId,
    request: (f) => ({ method: "GET", path: `/api/v1/geofences?recipientId=${f.recipientId}` }),
  },
  "POST /api/v1/geofences": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/geofences",
      body: {
        recipientId: f.recipientId,
        name: "Home",
        shape: { kind: "circle", center: { lat: 59.9, lon: 10.7 }, radiusM: 100 },
      },
    }),
  },
  "PATCH /api/v1/geofences/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "PATCH", path: `/api/v1/geofences/${f.geofenceId}`, body: { active: false } }),
  },
  "DELETE /api/v1/geofences/{id}": {
    scope: "item",
    ok: 204,
    request: (f) => ({ method: "DELETE", path: `/api/v1/geofences/${f.geofenceId}` }),
  },
  "GET /api/v1/positions/current": {
    scope: "list",
    ok: 200,
    target: (f) => f.recipientId,
    request: () => ({ method: "GET", path: "/api/v1/positions/current?reason=matrix%20check%20of%20access" }),
  },
  "GET /api/v1/positions/recipients/{id}/history": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "GET",
      path: `/api/v1/positions/recipients/${f.recipientId}/history?from=${from}&to=${to}&reason=matrix%20check%20of%20access`,
    }),
  },
  "GET /api/v1/activity": {
    scope: "list",
    ok: 200,
    target: (f) => f.recipientId,
    request: () => ({ method: "GET", path: "/api/v1/activity?action=matrix.fixture" }),
  },
  "GET /api/v1/activity/export.csv": {
    scope: "list",
    ok: 200,
    target: (f) => f.recipientId,
    request: () => ({ method: "GET", path: "/api/v1/activity/export.csv?action=matrix.fixture" }),
  },
  "GET /api/v1/activity/verify": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/activity/verify" }),
  },
  "GET /api/v1/activity/recipients/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/activity/recipients/${f.recipientId}` }),
  },
  "GET /api/v1/dead-letters": {
    scope: "list",
    ok: 200,
    target: (f) => f.deadLetterTopic,
    request: () => ({ method: "GET", path: "/api/v1/dead-letters?reason=invalid_message" }),
  },
  "GET /api/v1/tokens": {
    scope: "list",
    ok: 200,
    target: (f) => f.tokenId,
    request: () => ({ method: "GET", path: "/api/v1/tokens" }),
  },
  "POST /api/v1/tokens": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: "/api/v1/tokens",
      body: { name: "t", permissions: ["device:read"], departmentIds: [f.org.departments.a1] },
    }),
  },
  "DELETE /api/v1/tokens/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "DELETE", path: `/api/v1/tokens/${f.tokenId}` }),
  },
  "GET /api/v1/privacy/retention": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/privacy/retention" }),
  },
  "PATCH /api/v1/privacy/retention": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "PATCH", path: "/api/v1/privacy/retention", body: { positionsDays: 90 } }),
  },
  "GET /api/v1/privacy/retention/runs": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/privacy/retention/runs" }),
  },
  "GET /api/v1/privacy/restrictions": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/privacy/restrictions" }),
  },
  "PUT /api/v1/privacy/recipients/{id}/restriction": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PUT",
      path: `/api/v1/privacy/recipients/${f.recipientId}/restriction`,
      body: { reason: "matrix check of access" },
    }),
  },
  "DELETE /api/v1/privacy/recipients/{id}/restriction": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "DELETE",
      path: `/api/v1/privacy/recipients/${f.recipientId}/restriction?reason=matrix%20check%20of%20access`,
    }),
  },
  "GET /api/v1/privacy/recipients/{id}": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "GET",
      path: `/api/v1/privacy/recipients/${f.recipientId}?reason=matrix%20check%20of%20access`,
    }),
  },
  "GET /api/v1/privacy/recipients/{id}/export": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/privacy/recipients/${f.recipientId}/export` }),
  },
  "POST /api/v1/privacy/recipients/{id}/erasure": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/privacy/recipients/${f.recipientId}/erasure`,
      body: { reason: "matrix check of access" },
    }),
  },
  "GET /api/v1/privacy/erasures": {
    scope: "organisation",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/privacy/erasures" }),
  },
};

type Caller =
  | { kind: "anonymous" }
  | { kind: "user"; role: RoleKey; where: "inside" | "outside" | "other-organisation" }
  | { kind: "token" };

const ROLES: RoleKey[] = ["org_admin", "dept_admin", "operator", "locator", "auditor"];
const CALLERS: Caller[] = [
  { kind: "anonymous" },
  { kind: "token" },
  { kind: "user", role: "org_admin", where: "other-organisation" },
  ...ROLES.flatMap((role) => [
    { kind: "user" as const, role, where: "inside" as const },
    { kind: "user" as const, role, where: "outside" as const },
  ]),
];
const callerName = (c: Caller) => (c.kind === "user" ? `${c.role} ${c.where}` : c.kind);

/** What the document says the route needs. */
type Declared = string | string[];

/** The expected status, and for lists whether the target must be in the answer. */
function expected(
  method: string,
  route: RouteCase,
  declared: Declared,
  caller: Caller,
): { status: number; seesTarget?: boolean } {
  const needs = Array.isArray(declared) ? declared : [declared];
  if (route.scope === "public") return { status: route.ok };
  if (caller.kind === "anonymous") return { status: 401 };
  if (route.scope === "session") return { status: caller.kind === "token" ? 401 : route.ok };
  if (caller.kind === "token") {
    // Tokens are read-only: the matrix's token holds reads only, so every change is refused to it.
    if (method !== "GET") return { status: 403 };
    if (!needs.some((p) => TOKEN_PERMISSIONS.includes(p))) return { status: 403 };
    return { status: route.ok, seesTarget: true };
  }
  // Organisation administrators inside hold an organisation-wide grant; every other grant is on a department.
  const wholeOrganisation = caller.role === "org_admin" && caller.where !== "outside";
  const holds = needs.some(
    (p) => ROLE_PERMISSIONS[caller.role].includes(p) && (wholeOrganisation || !ORGANISATION_WIDE.includes(p)),
  );
  if (!holds) return { status: 403 };
  if (caller.where === "inside") return { status: route.ok, seesTarget: true };
  if (route.scope === "item") return { status: 404 };
  return { status: route.scope === "list" ? 200 : route.ok, seesTarget: false };
}

let h: Harness;
let org: TestOrg;
let otherOrgAdmin: string;
const emails = new Map<string, string>();
let tokenSecret: string;

beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
  for (const role of ROLES) {
    const inside = await addUser(h, org, `${role}-in`, [
      { role, departmentId: role === "org_admin" ? null : org.departments.a },
    ]);
    const outside = await addUser(h, org, `${role}-out`, [{ role, departmentId: org.departments.b }]);
    emails.set(`${role} inside`, inside.email);
    emails.set(`${role} outside`, outside.email);
  }
  const other = await createOrg(h);
  otherOrgAdmin = (await addUser(h, other, "admin", [{ role: "org_admin", departmentId: null }])).email;
  const admin = await loggedIn(h, emails.get("org_admin inside") as string);
  const t = await admin.post("/api/v1/tokens", {
    name: "matrix",
    permissions: TOKEN_PERMISSIONS,
    departmentIds: [org.departments.a],
    pseudonymous: false,
  });
  tokenSecret = t.body.secret;
});
afterAll(async () => {
  await h.close();
});

/** Fresh targets for each case, so changes made by one case do not affect another. */
async function fixture(): Promise<Fixture> {
  const q = h.db.pool;
  // A second-factor set-up begun by an earlier case must not change what the next one sees.
  await q.query("UPDATE staff_users SET totp_secret = NULL WHERE totp_enabled_at IS NULL");
  const dept = await q.query<{ id: string }>(
    `WITH fresh AS (SELECT gen_random_uuid() AS id)
     INSERT INTO departments (id, organisation_id, parent_id, name, ancestry)
     SELECT fresh.id, $1, $2, 'Case', (SELECT ancestry FROM departments WHERE id = $2) || fresh.id FROM fresh RETURNING id`,
    [org.organisationId, org.departments.a1],
  );
  const r = await addRecipient(h, org, org.departments.a1);
  const rule = await q.query<{ id: string }>(
    `INSERT INTO alert_rules (organisation_id, department_id, name, steps)
     VALUES ($1, $2, 'Matrix', '[{"waitS":60,"users":[],"roles":["operator"],"channels":["console"],"endpointIds":[]}]')
     RETURNING id`,
    [org.organisationId, org.departments.a1],
  );
  const endpoint = await q.query<{ id: string }>(
    `INSERT INTO alert_endpoints (organisation_id, department_id, name, kind, target)
     VALUES ($1, $2, 'Matrix', 'sms', '+4712345678') RETURNING id`,
    [org.organisationId, org.departments.a1],
  );
  const alarm = await q.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at)
     VALUES ($1, $2, $3, $4, 'sos', 'critical', 'device', $5, now()) RETURNING id`,
    [org.organisationId, org.departments.a1, r.deviceId, r.recipientId, `m-${uniq()}`],
  );
  await addPositions(h, org, r, h.clock.now, 2, 60);
  const spare = await q.query<{ id: string }>(
    "INSERT INTO devices (organisation_id, department_id, serial) VALUES ($1, $2, $3) RETURNING id",
    [org.organisationId, org.departments.a1, `S-${uniq()}`],
  );
  const g = await q.query<{ id: string }>(
    `INSERT INTO geofences (organisation_id, recipient_id, name, shape) VALUES ($1, $2, 'Home',
       '{"kind":"circle","center":{"lat":59.9,"lon":10.7},"radiusM":100}') RETURNING id`,
    [org.organisationId, r.recipientId],
  );
  const u = await addUser(h, org, `target-${uniq()}`, [
    { role: "operator", departmentId: org.departments.a1 },
  ]);
  const tok = await q.query<{ id: string }>(
    `INSERT INTO api_tokens (organisation_id, name, token_sha256, permissions, created_at)
     VALUES ($1, 'target', $2, '{device:read}', now()) RETURNING id`,
    [org.organisationId, `x${uniq()}`],
  );
  await q.query(
    `INSERT INTO activity_log (organisation_id, seq, actor_type, action, recipient_ids, prev_hash, hash)
     VALUES ($1, 0, 'system', 'matrix.fixture', ARRAY[$2::uuid], '\\x', '\\x')`,
    [org.organisationId, r.recipientId],
  );
  const sso = await q.query<{ id: string }>(
    `INSERT INTO sso_providers (organisation_id, display_name, issuer, client_id, client_secret, scopes)
     VALUES ($1, $2, 'https://login.example.org/tenant', 'vakt', 'secret', '{openid}') RETURNING id`,
    [org.organisationId, `Case ${uniq()}`],
  );
  const deadLetterTopic = `vakt/v1/d/S-${uniq()}/up/position`;
  await q.query(
    `INSERT INTO dead_letters (transport, topic, organisation_id, device_id, reason, payload_excerpt, payload_bytes)
     VALUES ('mqtt', $1, $2, $3, 'invalid_message', '{"v":1}', 7)`,
    [deadLetterTopic, org.organisationId, r.deviceId],
  );
  return {
    org,
    deadLetterTopic,
    departmentId: dept.rows[0]?.id as string,
    recipientId: r.recipientId,
    deviceId: r.deviceId,
    spareDeviceId: spare.rows[0]?.id as string,
    geofenceId: g.rows[0]?.id as string,
    userId: u.id,
    tokenId: tok.rows[0]?.id as string,
    alarmId: alarm.rows[0]?.id as string,
    ruleId: rule.rows[0]?.id as string,
    endpointId: endpoint.rows[0]?.id as string,
    ssoProviderId: sso.rows[0]?.id as string,
  };
}

async function clientFor(caller: Caller): Promise<Client> {
  const c = new Client(h);
  if (caller.kind === "token") c.bearer = tokenSecret;
  if (caller.kind === "user") {
    await c.login(
      caller.where === "other-organisation" ? otherOrgAdmin : (emails.get(callerName(caller)) as string),
    );
  }
  return c;
}

describe("permission matrix", () => {
  it("has an entry for every route of the app, and each route declares its permission", async () => {
    const doc = (await (await h.app.request("/api/openapi.json")).json()) as {
      paths: Record<string, Record<string, { "x-permission"?: Declared }>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(Object.keys(ROUTES).sort());
    // Every route the app serves is in the document (none bypasses it with a plain app.get).
    const served = h.app.routes
      .filter((r) => r.path.startsWith("/api/v1/") && r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:([a-zA-Z]+)/g, "{$1}")}`);
    expect([...new Set(served)].sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const declared = op["x-permission"];
        expect(declared, `${method} ${path}`).toBeDefined();
        const scope = ROUTES[`${method.toUpperCase()} ${path}`]?.scope;
        if (scope === "public" || scope === "session") expect(declared).toBe(scope);
      }
    }
  });

  it("serves the OpenAPI document and a docs page without a CDN", async () => {
    const docs = await h.app.request("/api/docs");
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).toContain("/api/docs/assets/swagger-ui-bundle.js");
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await h.app.request("/api/docs/assets/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    const doc = (await (await h.app.request("/api/openapi.json")).json()) as { openapi: string };
    expect(doc.openapi).toBe("3.1.0");
  });

  const declaredOf = async (key: string): Promise<Declared> => {
    const doc = (await (await h.app.request("/api/openapi.json")).json()) as {
      paths: Record<string, Record<string, { "x-permission": Declared }>>;
    };
    const [method, path] = key.split(" ") as [string, string];
    return doc.paths[path]?.[method.toLowerCase()]?.["x-permission"] as Declared;
  };

  for (const [key, route] of Object.entries(ROUTES)) {
    it(`${key}`, async () => {
      const declared = await declaredOf(key);
      const failures: string[] = [];
      for (const caller of route.scope === "public" ? [{ kind: "anonymous" } as Caller] : CALLERS) {
        const f = await fixture();
        const c = await clientFor(caller);
        const req = route.request(f);
        const res = await c.request(req.method, req.path, req.body);
        const want = expected(req.method, route, declared, caller);
        if (res.status !== want.status) {
          failures.push(
            `${callerName(caller)}: got ${res.status}, want ${want.status} ${JSON.stringify(res.body)}`,
          );
          continue;
        }
        if (route.target && want.seesTarget !== undefined) {
          const sees = JSON.stringify(res.body).includes(route.target(f));
          if (sees !== want.seesTarget)
            failures.push(`${callerName(caller)}: sees target ${sees}, want ${want.seesTarget}`);
        }
        if (res.status >= 400) expect(res.headers.get("content-type")).toContain("application/problem+json");
      }
      expect(failures).toEqual([]);
    });
  }
});
