import { roleKey, type SsoProvider } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiProblem } from "../api/client";
import { dictionaries } from "../i18n/dict";
import {
  draftFrom,
  emptyDraft,
  flatErrors,
  type ProviderDraft,
  problemFields,
  splitList,
  ssoForm,
  toCreate,
  toUpdate,
} from "./sso-form";

const dept = "5f0e7a52-3c1d-4a8e-9b61-0d2f4c6e8a10";

const filled = (): ProviderDraft => ({
  ...emptyDraft(),
  displayName: " Kommune-ID ",
  issuer: "https://login.kommune.no/realms/vakt",
  clientId: "vakt-console",
  clientSecret: "s3cret",
  emailDomains: "Kommune.no, helse.kommune.no\nother.no",
  mappingRules: [
    { group: "vakt-operators-nord", role: "operator", departmentId: dept },
    { group: "vakt-admins", role: "org_admin", departmentId: "" },
  ],
});

const stored: SsoProvider = {
  id: "0b7c5a44-7f0e-4d7b-9d7e-2f9d6f1c8a11",
  displayName: "Kommune-ID",
  issuer: "https://login.kommune.no/realms/vakt",
  clientId: "vakt-console",
  hasClientSecret: true,
  scopes: ["openid", "email", "groups"],
  emailClaim: "email",
  groupsClaim: "roles",
  emailDomains: ["kommune.no"],
  createUsers: true,
  requireVerifiedEmail: true,
  enabled: false,
  mappingRules: [{ group: "g", role: "auditor", departmentId: null }],
  redirectUri: "https://vakt.kommune.no/api/v1/auth/sso/callback",
  createdAt: "2026-11-22T02:00:00.000Z",
  updatedAt: "2026-11-22T02:00:00.000Z",
};

describe("the provider form", () => {
  it("becomes a create body with lists split, domains lowercased and whole-organisation rules as null", () => {
    const r = toCreate(filled());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toEqual({
      displayName: "Kommune-ID",
      issuer: "https://login.kommune.no/realms/vakt",
      clientId: "vakt-console",
      clientSecret: "s3cret",
      scopes: ["openid", "email", "profile"],
      emailClaim: "email",
      groupsClaim: "groups",
      emailDomains: ["kommune.no", "helse.kommune.no", "other.no"],
      createUsers: false,
      requireVerifiedEmail: true,
      enabled: true,
      mappingRules: [
        { group: "vakt-operators-nord", role: "operator", departmentId: dept },
        { group: "vakt-admins", role: "org_admin", departmentId: null },
      ],
    });
  });

  it("needs a secret to create a provider", () => {
    const r = toCreate({ ...filled(), clientSecret: "" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => [e.field, e.key])).toEqual([["clientSecret", "sso.hint.required"]]);
  });

  it("names the field and the rule row of each mistake", () => {
    const d = filled();
    const r = toCreate({
      ...d,
      issuer: "http://login.kommune.no",
      scopes: "email profile",
      emailDomains: "not a domain",
      mappingRules: [
        d.mappingRules[0] ?? { group: "", role: "operator", departmentId: "" },
        { group: " ", role: "operator", departmentId: "" },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const where = r.errors.map((e) => [e.field, e.row, e.key]);
    expect(where).toContainEqual(["issuer", null, "sso.hint.issuer"]);
    expect(where).toContainEqual(["scopes", null, "sso.hint.scopes"]);
    expect(where).toContainEqual(["emailDomains", null, "sso.hint.domains"]);
    expect(where).toContainEqual(["mappingRules", 1, "sso.hint.required"]);
    expect(where.filter(([f, row]) => f === "mappingRules" && row === 0)).toEqual([]);
  });

  it("accepts http only for a provider on this machine", () => {
    expect(toCreate({ ...filled(), issuer: "http://127.0.0.1:4123" }).ok).toBe(true);
    expect(toCreate({ ...filled(), issuer: "http://localhost:4123/oidc" }).ok).toBe(true);
  });

  it("shows a stored provider with an empty secret field and its rules", () => {
    const d = draftFrom(stored);
    expect(d.clientSecret).toBe("");
    expect(d.scopes).toBe("openid email groups");
    expect(d.emailDomains).toBe("kommune.no");
    expect(d.mappingRules).toEqual([{ group: "g", role: "auditor", departmentId: "" }]);
  });

  it("keeps the stored secret when the field is left empty, and sends a typed one", () => {
    const kept = toUpdate(draftFrom(stored));
    expect(kept.ok).toBe(true);
    if (kept.ok) {
      expect(kept.body).not.toHaveProperty("clientSecret");
      expect(kept.body).toMatchObject({
        displayName: "Kommune-ID",
        scopes: ["openid", "email", "groups"],
        groupsClaim: "roles",
        enabled: false,
        createUsers: true,
        mappingRules: [{ group: "g", role: "auditor", departmentId: null }],
      });
    }
    const changed = toUpdate({ ...draftFrom(stored), clientSecret: "new secret" });
    expect(changed.ok && changed.body.clientSecret).toBe("new secret");
  });

  it("splits lists on spaces, commas and new lines", () => {
    expect(splitList(" a, b;c\n d  ")).toEqual(["a", "b", "c", "d"]);
    expect(splitList("  ")).toEqual([]);
  });
});

describe("the fields a refusal names", () => {
  it("are the form's own fields, each once, and none for any other error", () => {
    const refusal = new ApiProblem(422, "validation_failed", "x", {
      errors: [
        { path: "issuer", message: "Invalid URL" },
        { path: "mappingRules.0.group", message: "Too small" },
        { path: "issuer", message: "again" },
        { path: "somethingElse", message: "?" },
      ],
    });
    expect(problemFields(refusal)).toEqual(["issuer", "mappingRules"]);
    expect(problemFields(new ApiProblem(409, "conflict", "x", null))).toEqual([]);
    expect(problemFields(new Error("x"))).toEqual([]);
  });
});

const text = (...examples: string[]) =>
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("", " ", ...examples));
const drafts: fc.Arbitrary<ProviderDraft> = fc.record({
  displayName: text("Kommune-ID"),
  issuer: text("https://login.kommune.no/realms/vakt", "http://127.0.0.1:4123", "http://login.kommune.no"),
  clientId: text("vakt-console"),
  clientSecret: text("s3cret"),
  scopes: text("openid email profile", "email"),
  emailClaim: text("email", "e mail"),
  groupsClaim: text("groups", "realm_access.roles"),
  emailDomains: text("kommune.no", "Kommune.no, helse.kommune.no", "not a domain"),
  createUsers: fc.boolean(),
  requireVerifiedEmail: fc.boolean(),
  enabled: fc.boolean(),
  mappingRules: fc.array(
    fc.record({
      group: text("vakt-operators"),
      role: fc.constantFrom(...roleKey.options),
      departmentId: fc.oneof(fc.uuid({ version: 4 }), fc.constant("")),
    }),
    { maxLength: 3 },
  ),
});

describe("the provider form as react-hook-form checks it", () => {
  it("refuses exactly what toCreate and toUpdate refuse, each mistake on a field or rule with a key", () => {
    fc.assert(
      fc.property(drafts, fc.boolean(), (draft, editing) => {
        const r = ssoForm(editing).safeParse(draft);
        const converted = editing ? toUpdate(draft) : toCreate(draft);
        expect(r.success).toBe(converted.ok);
        if (r.success) {
          expect(r.data.editing).toBe(editing);
          if (converted.ok) expect(r.data.body).toEqual(converted.body);
          return;
        }
        for (const issue of r.error.issues) {
          expect(Object.keys(draft)).toContain(String(issue.path[0]));
          if (issue.path[0] === "mappingRules") expect(typeof issue.path[1]).toBe("number");
          expect(issue.message in dictionaries.nb).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("lists react-hook-form's errors by field and rule row, an unknown message as not valid", () => {
    const errors = {
      issuer: { type: "custom", message: "sso.hint.issuer" },
      clientSecret: { type: "custom", message: "sso.hint.required" },
      mappingRules: Object.assign([undefined, { group: { type: "custom", message: "sso.hint.required" } }], {
        root: { type: "custom", message: "Too big" },
      }),
    };
    expect(flatErrors(errors as never).map((e) => [e.field, e.row, e.column ?? null, e.key])).toEqual([
      ["issuer", null, null, "sso.hint.issuer"],
      ["clientSecret", null, null, "sso.hint.required"],
      ["mappingRules", null, null, "sso.hint.invalid"],
      ["mappingRules", 1, "group", "sso.hint.required"],
    ]);
  });
});
