/**
 * The permission matrix: every route of the app (read from its own OpenAPI
 * document, so a new route without an entry here fails), for each role with a
 * grant inside and outside the target's department, a user of another
 * organisation, an anonymous caller and three kinds of API token (all reads;
 * the same, pseudonymous; no positions), with the expected status.
 *
 * Beside the status, every answer is walked for the kinds of personal data it
 * holds (positions, places, names, birth dates, contacts, notes: by key, and
 * e-mail addresses and phone numbers by shape), and a caller shown a kind its
 * permissions do not cover fails the route. A pseudonymous token must never be
 * shown, nor succeed in sending, a real recipient id, device id or serial. The
 * kinds each route's answers held are kept in permissions.data-kinds.md.
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

/** The API tokens the matrix calls with: each kind of token an integrator may be given. */
const TOKENS = {
  /** Every read a token can hold, real ids. */
  reads: { permissions: TOKEN_PERMISSIONS, pseudonymous: false },
  /** The same reads, pseudonymous (the default for new tokens). */
  pseudonymous: { permissions: TOKEN_PERMISSIONS, pseudonymous: true },
  /** Recipients, devices and alarms but no positions. */
  "no-positions": { permissions: ["recipient:read", "device:read", "alarm:read"], pseudonymous: false },
} as const;
type TokenKind = keyof typeof TOKENS;

/**
 * The kinds of personal data a response can hold, found by walking the JSON
 * for the keys that carry them (not per route), and the permissions of which
 * the caller must hold at least one to be shown that kind. A new route, or a
 * new field under one of these keys, is checked without an entry here.
 */
type DataKind = "positions" | "places" | "names" | "birth dates" | "contacts" | "call lists" | "notes";
const DATA_KEYS: Record<string, DataKind> = {
  lat: "positions",
  lon: "positions",
  latitude: "positions",
  longitude: "positions",
  coordinates: "positions",
  // A geofence's shape: where the person lives or may go (a home-zone circle is their address).
  shape: "places",
  firstName: "names",
  lastName: "names",
  birthDate: "birth dates",
  email: "contacts",
  phone: "contacts",
  responderNotes: "notes",
  legalBasisReference: "notes",
  // Whom a logged call on an alarm was to (read from the recipient's call list).
  contactName: "call lists",
  contactPhone: "call lists",
};
const COVERED_BY: Record<DataKind, string[]> = {
  positions: ["position:read", "position:locate"],
  places: ["geofence:manage", "position:read"],
  names: ["recipient:read", "user:read"],
  "birth dates": ["recipient:details"],
  contacts: ["user:read"],
  // A recipient's next of kin and others to phone: for those who take its alarms or keep the list.
  "call lists": ["alarm:acknowledge", "recipient:manage"],
  notes: ["recipient:details"],
};

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PHONE = /^\+[1-9][0-9]{6,14}$/;
/**
 * A position written into text (a refused message's excerpt, an error's detail, a CSV line): a
 * coordinate under its name (`"lat":59.9`, `lat=59.9`), a geo URI, or a pair of decimal degrees.
 */
const POSITION_IN_TEXT = [
  /(?:^|[^a-z])(?:lat|lon|lng|latitude|longitude)["']?\s*[:=]\s*["']?-?\d/i,
  /\bgeo:-?\d/i,
  /-?\d{1,3}\.\d{3,}\s*[,;]\s*-?\d{1,3}\.\d{3,}/,
];

/** The kinds of personal data in a JSON answer (keys under `shape` are part of the place). */
function dataKinds(value: unknown, into = new Set<DataKind>()): Set<DataKind> {
  if (typeof value === "string" && POSITION_IN_TEXT.some((p) => p.test(value))) into.add("positions");
  if (Array.isArray(value)) for (const v of value) dataKinds(v, into);
  else if (value && typeof value === "object") {
    // An entry of a recipient's call list (name, relation, phone, notes): one kind, its phone included.
    if ("relation" in value && "phone" in value) {
      into.add("call lists");
      return into;
    }
    for (const [k, v] of Object.entries(value)) {
      const kind = DATA_KEYS[k];
      const present = v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0);
      if (kind && present) into.add(kind);
      // An e-mail address or phone number is a contact under whatever key it travels.
      // (A call-list phone under its own key is that kind, checked above.)
      if (kind !== "call lists" && typeof v === "string" && (EMAIL.test(v) || PHONE.test(v)))
        into.add("contacts");
      if (kind !== "places") dataKinds(v, into);
    }
  }
  return into;
}

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
  /** The serial of the recipient's device. */
  serial: string;
  /** A contact on the recipient's call list. */
  contactId: string;
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
  "GET /api/v1/auth/profile": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/auth/profile" }),
  },
  "PATCH /api/v1/auth/profile": {
    scope: "session",
    ok: 200,
    request: () => ({
      method: "PATCH",
      path: "/api/v1/auth/profile",
      body: { phone: "+4741234567", sound: { newAlarms: true, asked: true, repeatS: 30 } },
    }),
  },
  "POST /api/v1/auth/logout": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "POST", path: "/api/v1/auth/logout", body: {} }),
  },
  "POST /api/v1/auth/totp/disable": {
    scope: "session",
    ok: 409,
    request: () => ({ method: "POST", path: "/api/v1/auth/totp/disable", body: { code: "123456" } }),
  },
  "GET /api/v1/auth/sessions": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "GET", path: "/api/v1/auth/sessions" }),
  },
  "POST /api/v1/auth/logout-others": {
    scope: "session",
    ok: 200,
    request: () => ({ method: "POST", path: "/api/v1/auth/logout-others", body: {} }),
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
  "GET /api/v1/recipients/{id}/contacts": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/recipients/${f.recipientId}/contacts` }),
  },
  "POST /api/v1/recipients/{id}/contacts": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/recipients/${f.recipientId}/contacts`,
      body: { name: "Ola Nordmann", relation: "neighbour", phone: "912 34 568" },
    }),
  },
  "PUT /api/v1/recipients/{id}/contacts/order": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PUT",
      path: `/api/v1/recipients/${f.recipientId}/contacts/order`,
      body: { ids: [f.contactId] },
    }),
  },
  "PATCH /api/v1/recipients/{id}/contacts/{contactId}": {
    scope: "item",
    ok: 200,
    request: (f) => ({
      method: "PATCH",
      path: `/api/v1/recipients/${f.recipientId}/contacts/${f.contactId}`,
      body: { availability: "08-22" },
    }),
  },
  "DELETE /api/v1/recipients/{id}/contacts/{contactId}": {
    scope: "item",
    ok: 204,
    request: (f) => ({
      method: "DELETE",
      path: `/api/v1/recipients/${f.recipientId}/contacts/${f.contactId}`,
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
  "POST /api/v1/alarms/{id}/calls": {
    scope: "item",
    ok: 201,
    request: (f) => ({
      method: "POST",
      path: `/api/v1/alarms/${f.alarmId}/calls`,
      body: { contactId: f.contactId, result: "no_answer" },
    }),
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
  /** Outside the caller's routing departments the department does not exist for it (404). */
  "GET /api/v1/alert-targets": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/alert-targets?departmentId=${f.departmentId}` }),
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
  "GET /api/v1/device-messages": {
    scope: "item",
    ok: 200,
    request: (f) => ({ method: "GET", path: `/api/v1/device-messages?deviceId=${f.deviceId}` }),
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
    // JSON, so the walk over the answer sees what the export holds.
    request: (f) => ({
      method: "GET",
      path: `/api/v1/privacy/recipients/${f.recipientId}/export?format=json`,
    }),
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
  | { kind: "token"; token: TokenKind };

const ROLES: RoleKey[] = ["org_admin", "dept_admin", "operator", "locator", "auditor"];
const CALLERS: Caller[] = [
  { kind: "anonymous" },
  ...(Object.keys(TOKENS) as TokenKind[]).map((token) => ({ kind: "token" as const, token })),
  { kind: "user", role: "org_admin", where: "other-organisation" },
  ...ROLES.flatMap((role) => [
    { kind: "user" as const, role, where: "inside" as const },
    { kind: "user" as const, role, where: "outside" as const },
  ]),
];
const callerName = (c: Caller) =>
  c.kind === "user" ? `${c.role} ${c.where}` : c.kind === "token" ? `token (${c.token})` : c.kind;

/** The permissions a caller holds somewhere (which kinds of data it may be shown at all). */
function permissionsOfCaller(caller: Caller): string[] {
  if (caller.kind === "anonymous") return [];
  if (caller.kind === "token") return [...TOKENS[caller.token].permissions];
  const wholeOrganisation = caller.role === "org_admin" && caller.where !== "outside";
  return ROLE_PERMISSIONS[caller.role].filter((p) => wholeOrganisation || !ORGANISATION_WIDE.includes(p));
}

/** What the document says the route needs. */
type Declared = string | string[];

/** Ids that name a person or their device: a pseudonymous token never sees or sends them. */
const realIds = (f: Fixture) => [f.recipientId, f.deviceId, f.serial];

/** The expected status, and for lists whether the target must be in the answer. */
function expected(
  req: { method: string; path: string; body?: unknown },
  route: RouteCase,
  declared: Declared,
  caller: Caller,
  f: Fixture,
): { status: number; seesTarget?: boolean } {
  const needs = Array.isArray(declared) ? declared : [declared];
  if (route.scope === "public") return { status: route.ok };
  if (caller.kind === "anonymous") return { status: 401 };
  if (route.scope === "session") return { status: caller.kind === "token" ? 401 : route.ok };
  if (caller.kind === "token") {
    const token = TOKENS[caller.token];
    // Tokens are read-only: the matrix's tokens hold reads only, so every change is refused to them.
    if (req.method !== "GET") return { status: 403 };
    if (!needs.some((p) => (token.permissions as readonly string[]).includes(p))) return { status: 403 };
    if (token.pseudonymous) {
      // A real id in its request is answered like an unknown id, so it links nothing.
      const sent = req.path + JSON.stringify(req.body ?? "");
      if (realIds(f).some((id) => sent.includes(id))) return { status: 404 };
      const target = route.target?.(f);
      return { status: route.ok, seesTarget: target === undefined || !realIds(f).includes(target) };
    }
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

/** What the answer shows that the caller's permissions do not cover, and real ids shown to a pseudonymous token. */
function overexposed(caller: Caller, route: RouteCase, body: unknown, f: Fixture): string[] {
  const problems: string[] = [];
  const held = permissionsOfCaller(caller);
  for (const kind of dataKinds(body)) {
    // Session routes answer about the caller: their own name and contacts.
    if (route.scope === "session" && (kind === "names" || kind === "contacts")) continue;
    if (!COVERED_BY[kind].some((p) => held.includes(p)))
      problems.push(`holds ${kind}, which needs one of ${COVERED_BY[kind].join(", ")}`);
  }
  if (caller.kind === "token" && TOKENS[caller.token].pseudonymous) {
    const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
    for (const id of realIds(f)) if (text.includes(id)) problems.push(`shows the real id ${id}`);
  }
  return problems;
}

/** Route → the kinds of personal data its answers held, for the committed column (permissions.data-kinds.md). */
const seenKinds = new Map<string, Set<DataKind>>();

let h: Harness;
let org: TestOrg;
let otherOrgAdmin: string;
const emails = new Map<string, string>();
const tokenSecrets = new Map<TokenKind, string>();

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
  for (const [kind, token] of Object.entries(TOKENS) as [TokenKind, (typeof TOKENS)[TokenKind]][]) {
    const t = await admin.post("/api/v1/tokens", {
      name: `matrix ${kind}`,
      permissions: token.permissions,
      departmentIds: [org.departments.a],
      pseudonymous: token.pseudonymous,
    });
    tokenSecrets.set(kind, t.body.secret);
  }
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
  // Every kind of personal data the fixture can hold is there, so an answer that shows one is seen doing it.
  await q.query(
    "UPDATE recipients SET responder_notes = 'Key under the mat', legal_basis_reference = 'vedtak 2026/17' WHERE id = $1",
    [r.recipientId],
  );
  const alarm = await q.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at, lat, lon, accuracy_m)
     VALUES ($1, $2, $3, $4, 'sos', 'critical', 'device', $5, now(), 59.91, 10.75, 12) RETURNING id`,
    [org.organisationId, org.departments.a1, r.deviceId, r.recipientId, `m-${uniq()}`],
  );
  await q.query(
    `INSERT INTO alarm_deliveries (organisation_id, alarm_id, step, channel, target, result)
     VALUES ($1, $2, 1, 'email', 'duty.nurse@example.org', 'sent')`,
    [org.organisationId, alarm.rows[0]?.id],
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
  // A call list with one contact, and a call to them logged on the alarm.
  const contact = await q.query<{ id: string }>(
    `INSERT INTO recipient_contacts (organisation_id, recipient_id, position, name, relation, phone, notes)
     VALUES ($1, $2, 1, 'Kari Nordmann', 'next_of_kin', '+4791234567', 'Daughter') RETURNING id`,
    [org.organisationId, r.recipientId],
  );
  await q.query(
    `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, actor_user_id, note, details)
     VALUES ($1, $2, 'called', NULL, 'Is on her way', jsonb_build_object('contactId', $3::text, 'result', 'reached'))`,
    [org.organisationId, alarm.rows[0]?.id, contact.rows[0]?.id],
  );
  const deadLetterTopic = `vakt/v1/d/S-${uniq()}/up/position`;
  await q.query(
    // As ingest keeps them: a position in the excerpt, and the detail quoting the one stored.
    `INSERT INTO dead_letters (transport, topic, organisation_id, device_id, reason, detail, payload_excerpt, payload_bytes)
     VALUES ('mqtt', $1, $2, $3, 'invalid_message',
             'a different fix is stored for 2026-12-07T01:00:00.000Z (59.9137731, 10.7521942)',
             '{"v":1,"id":"m1","fix":{"t":"soon","lat":59.9137731,"lon":10.7521942}}', 64)`,
    [deadLetterTopic, org.organisationId, r.deviceId],
  );
  // The transactions log: a position the device sent, and the platform's answer.
  await q.query(
    `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
     VALUES (now() - interval '1 minute', $1, $2, 'uplink', 'vakt/v1/d/S/up/position', 'm1', 'position',
             '{"v":1,"id":"m1","fix":{"t":1765000000000,"lat":59.9137731,"lon":10.7521942}}'),
            (now(), $1, $2, 'downlink', 'vakt/v1/d/S/down/command', 'c1', 'command',
             '{"v":1,"id":"c1","command":"locate"}')`,
    [r.deviceId, org.organisationId],
  );
  const serial = await q.query<{ serial: string }>("SELECT serial FROM devices WHERE id = $1", [r.deviceId]);
  return {
    org,
    deadLetterTopic,
    contactId: contact.rows[0]?.id as string,
    serial: serial.rows[0]?.serial as string,
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
  if (caller.kind === "token") c.bearer = tokenSecrets.get(caller.token);
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
      seenKinds.set(key, new Set());
      for (const caller of route.scope === "public" ? [{ kind: "anonymous" } as Caller] : CALLERS) {
        const f = await fixture();
        const c = await clientFor(caller);
        const req = route.request(f);
        const res = await c.request(req.method, req.path, req.body);
        const want = expected(req, route, declared, caller, f);
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
        if (res.status < 300) {
          for (const problem of overexposed(caller, route, res.body, f))
            failures.push(`${callerName(caller)}: ${problem}`);
          for (const kind of dataKinds(res.body)) seenKinds.get(key)?.add(kind);
        }
        if (res.status >= 400) expect(res.headers.get("content-type")).toContain("application/problem+json");
      }
      expect(failures).toEqual([]);
    });
  }

  it("answers a pseudonymous token 404 for a real recipient or device id in any id parameter of any route", async () => {
    const doc = (await (await h.app.request("/api/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; in: string; schema?: { format?: string } }[] }>
      >;
    };
    const c = await clientFor({ kind: "token", token: "pseudonymous" });
    const failures: string[] = [];
    let tried = 0;
    for (const [key, route] of Object.entries(ROUTES)) {
      const [method, path] = key.split(" ") as [string, string];
      if (method !== "GET" || route.scope === "public" || route.scope === "session") continue;
      const params = doc.paths[path]?.get?.parameters ?? [];
      const idQueries = params.filter(
        (p) => p.in === "query" && p.schema?.format === "uuid" && /recipient|device/i.test(p.name),
      );
      for (const q of idQueries) {
        const f = await fixture();
        for (const real of [f.recipientId, f.deviceId]) {
          const req = route.request(f);
          const url = new URL(req.path, "http://x");
          url.searchParams.set(q.name, real);
          const res = await c.request("GET", `${url.pathname}${url.search}`);
          tried++;
          const text = JSON.stringify(res.body ?? "");
          if (res.status !== 404 && res.status !== 403)
            failures.push(`${key} ?${q.name}=<real id>: got ${res.status}`);
          for (const id of realIds(f)) if (text.includes(id)) failures.push(`${key} ?${q.name}: shows ${id}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // The alarms, activity and dead-letter filters at least.
    expect(tried).toBeGreaterThanOrEqual(6);
  });

  it("keeps the column of what each route's answers contain in permissions.data-kinds.md", async () => {
    // Filled by the route cases above: run with them (the whole file).
    expect([...seenKinds.keys()].sort(), "run the whole matrix").toEqual(Object.keys(ROUTES).sort());
    const order: DataKind[] = [
      "positions",
      "places",
      "names",
      "birth dates",
      "contacts",
      "call lists",
      "notes",
    ];
    const rows = Object.keys(ROUTES).map((key) => {
      const kinds = order.filter((k) => seenKinds.get(key)?.has(k));
      return `| \`${key}\` | ${kinds.join(", ") || "–"} |`;
    });
    const text = [
      "# What each route's answers contain",
      "",
      "Written by `permissions.int.test.ts` from the answers every caller of the matrix got (the kinds",
      "of personal data found by key, and positions also inside text, whoever was shown them); a change",
      "shows up here in review. Each caller was shown only kinds its permissions cover:",
      "",
      "| kind | keys | shown only with one of |",
      "| --- | --- | --- |",
      ...order.map(
        (k) =>
          `| ${k} | ${Object.entries(DATA_KEYS)
            .filter(([, v]) => v === k)
            .map(([key]) => `\`${key}\``)
            .join(", ")} | ${COVERED_BY[k].map((p) => `\`${p}\``).join(", ")} |`,
      ),
      "",
      "| route | contains |",
      "| --- | --- |",
      ...rows,
      "",
    ].join("\n");
    await expect(text).toMatchFileSnapshot("./permissions.data-kinds.md");
  });
});
