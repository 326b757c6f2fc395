/**
 * The single sign-on provider form as plain data: what the administrator
 * types (lists as text, "" for the whole organisation, an empty secret meaning
 * "keep the stored one") and its conversion to the API's create and update
 * bodies, validated with the shared schemas before anything is sent.
 */
import { type RoleKey, roleKey, type SsoProvider, ssoProviderCreate, ssoProviderUpdate } from "@vakt/schemas";
import type { FieldErrors } from "react-hook-form";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import type { MessageKey } from "../i18n/dict";

export interface RuleDraft {
  group: string;
  role: RoleKey;
  /** "" for the whole organisation. */
  departmentId: string;
}

export interface ProviderDraft {
  displayName: string;
  issuer: string;
  clientId: string;
  /** Empty when editing: keep the stored secret. */
  clientSecret: string;
  /** Separated by spaces or commas. */
  scopes: string;
  emailClaim: string;
  groupsClaim: string;
  /** Separated by commas, spaces or new lines. */
  emailDomains: string;
  createUsers: boolean;
  requireVerifiedEmail: boolean;
  enabled: boolean;
  mappingRules: RuleDraft[];
}

export type DraftField = keyof ProviderDraft;

export const emptyDraft = (): ProviderDraft => ({
  displayName: "",
  issuer: "",
  clientId: "",
  clientSecret: "",
  scopes: "openid email profile",
  emailClaim: "email",
  groupsClaim: "groups",
  emailDomains: "",
  createUsers: false,
  requireVerifiedEmail: true,
  enabled: true,
  mappingRules: [],
});

export const newRule = (): RuleDraft => ({ group: "", role: "operator", departmentId: "" });

/** A stored provider in the form; the secret is never returned, so its field starts empty. */
export function draftFrom(p: SsoProvider): ProviderDraft {
  return {
    displayName: p.displayName,
    issuer: p.issuer,
    clientId: p.clientId,
    clientSecret: "",
    scopes: p.scopes.join(" "),
    emailClaim: p.emailClaim,
    groupsClaim: p.groupsClaim,
    emailDomains: p.emailDomains.join(", "),
    createUsers: p.createUsers,
    requireVerifiedEmail: p.requireVerifiedEmail,
    enabled: p.enabled,
    mappingRules: p.mappingRules.map((r) => ({
      group: r.group,
      role: r.role,
      departmentId: r.departmentId ?? "",
    })),
  };
}

export function splitList(text: string): string[] {
  return text.split(/[\s,;]+/).filter((s) => s !== "");
}

export interface FieldError {
  /** The form field (the first element of zod's path), or "mappingRules". */
  field: DraftField | null;
  /** For a mapping rule: its row (0-based), and the rule's field ("group"), when zod names one. */
  row: number | null;
  column?: string;
  /** What to tell the administrator, translated. */
  key: MessageKey;
  /** zod's own words, for the record. */
  message: string;
}

/** What a field wants, for any mistake but an empty required one. */
const hints: Partial<Record<DraftField, MessageKey>> = {
  issuer: "sso.hint.issuer",
  scopes: "sso.hint.scopes",
  emailClaim: "sso.hint.claim",
  groupsClaim: "sso.hint.claim",
  emailDomains: "sso.hint.domains",
};

export type Converted<T> = { ok: true; body: T } | { ok: false; errors: FieldError[] };

function fields(d: ProviderDraft) {
  return {
    displayName: d.displayName,
    issuer: d.issuer.trim(),
    clientId: d.clientId,
    scopes: splitList(d.scopes),
    emailClaim: d.emailClaim,
    groupsClaim: d.groupsClaim,
    emailDomains: splitList(d.emailDomains),
    createUsers: d.createUsers,
    requireVerifiedEmail: d.requireVerifiedEmail,
    enabled: d.enabled,
    mappingRules: d.mappingRules.map((r) => ({
      group: r.group,
      role: r.role,
      departmentId: r.departmentId === "" ? null : r.departmentId,
    })),
  };
}

function errorsOf(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    const [first, second, third] = issue.path;
    const field = typeof first === "string" ? (first as DraftField) : null;
    const empty = issue.code === "too_small" && issue.origin === "string";
    const row = first === "mappingRules" && typeof second === "number" ? second : null;
    return {
      field,
      row,
      ...(row !== null && typeof third === "string" ? { column: third } : {}),
      key: empty ? "sso.hint.required" : ((field && hints[field]) ?? "sso.hint.invalid"),
      message: issue.message,
    };
  });
}

/** The body of POST /sso-providers: every field, the secret required. */
export function toCreate(d: ProviderDraft): Converted<z.output<typeof ssoProviderCreate>> {
  const r = ssoProviderCreate.safeParse({ ...fields(d), clientSecret: d.clientSecret });
  return r.success ? { ok: true, body: r.data } : { ok: false, errors: errorsOf(r.error) };
}

/** The body of PATCH /sso-providers/{id}: every field; the secret only when one was typed. */
export function toUpdate(d: ProviderDraft): Converted<z.output<typeof ssoProviderUpdate>> {
  const body = d.clientSecret === "" ? fields(d) : { ...fields(d), clientSecret: d.clientSecret };
  const r = ssoProviderUpdate.safeParse(body);
  return r.success ? { ok: true, body: r.data } : { ok: false, errors: errorsOf(r.error) };
}

/** The form's fields a refusal names (a 422 lists each by its path), each once; none for any other error. */
export function problemFields(err: unknown): DraftField[] {
  if (!(err instanceof ApiProblem)) return [];
  const details = z.object({ errors: z.array(z.object({ path: z.string() })) }).safeParse(err.body);
  if (!details.success) return [];
  const fields = details.data.errors.map((e) => e.path.split(".")[0] ?? "");
  return [...new Set(fields)].filter((f): f is DraftField => f in emptyDraft());
}

/** What the form submits: the body, and whether it changes a stored provider or creates one. */
export type SsoSubmit =
  | { editing: false; body: z.output<typeof ssoProviderCreate> }
  | { editing: true; body: z.output<typeof ssoProviderUpdate> };

/**
 * The draft as react-hook-form's resolver checks it: converted with toCreate or toUpdate, each
 * mistake put on its field (a rule's on its row) with the dictionary key as its message.
 */
export function ssoForm(editing: boolean) {
  const rule = z.object({ group: z.string(), role: roleKey, departmentId: z.string() });
  const text = z.string();
  return z
    .object({
      displayName: text,
      issuer: text,
      clientId: text,
      clientSecret: text,
      scopes: text,
      emailClaim: text,
      groupsClaim: text,
      emailDomains: text,
      createUsers: z.boolean(),
      requireVerifiedEmail: z.boolean(),
      enabled: z.boolean(),
      mappingRules: z.array(rule),
    })
    .transform((d, ctx): SsoSubmit => {
      const refuse = (errors: FieldError[]) => {
        for (const e of errors) ctx.addIssue({ code: "custom", message: e.key, path: issuePath(e) });
        return z.NEVER;
      };
      if (editing) {
        const update = toUpdate(d);
        return update.ok ? { editing: true, body: update.body } : refuse(update.errors);
      }
      const create = toCreate(d);
      return create.ok ? { editing: false, body: create.body } : refuse(create.errors);
    });
}

function issuePath(e: FieldError): (string | number)[] {
  if (e.field === "mappingRules" && e.row !== null) return ["mappingRules", e.row, e.column ?? "group"];
  return [e.field ?? "displayName"];
}

const SSO_KEYS = new Set<MessageKey>([
  "sso.hint.required",
  "sso.hint.invalid",
  "sso.hint.issuer",
  "sso.hint.scopes",
  "sso.hint.claim",
  "sso.hint.domains",
]);
const keyOf = (message: unknown): MessageKey =>
  SSO_KEYS.has(message as MessageKey) ? (message as MessageKey) : "sso.hint.invalid";

/** react-hook-form's errors as the list the form shows: each field's, then each rule row's. */
export function flatErrors(errors: FieldErrors<ProviderDraft>): FieldError[] {
  const out: FieldError[] = [];
  for (const field of Object.keys(emptyDraft()) as DraftField[]) {
    const e = errors[field];
    if (!e) continue;
    if (field !== "mappingRules") {
      out.push({ field, row: null, key: keyOf(e.message), message: String(e.message ?? "") });
      continue;
    }
    // The list's own refusal (too many rules) sits at its root, beside the rows' errors.
    const own = (e as { root?: { message?: unknown }; message?: unknown }).root?.message ?? e.message;
    if (own !== undefined) out.push({ field, row: null, key: keyOf(own), message: String(own) });
    if (!Array.isArray(e)) continue;
    e.forEach((rowErrors: Record<string, { message?: unknown } | undefined> | undefined, row: number) => {
      for (const [column, ce] of Object.entries(rowErrors ?? {}))
        if (ce?.message !== undefined)
          out.push({ field, row, column, key: keyOf(ce.message), message: String(ce.message) });
    });
  }
  return out;
}
