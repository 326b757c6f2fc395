import { ssoErrorCode } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { ApiProblem } from "../api/client";
import { dictionaries } from "../i18n/dict";
import {
  discoverableEmail,
  isSsoRequired,
  logoutAnswer,
  providerLogoutUrl,
  ssoErrorKey,
  ssoStartUrl,
  takeSsoError,
} from "./sso";

describe("sso_error on the login page", () => {
  it("has a message of its own, in both languages, for every code the callback sends", () => {
    for (const code of ssoErrorCode.options) {
      const key = ssoErrorKey(code);
      expect(key, code).toBe(`login.ssoError.${code}`);
      if (key) expect(dictionaries.en[key]).not.toBe(dictionaries.nb[key]);
    }
    expect(
      ssoErrorKey("no_access") && dictionaries.en[ssoErrorKey("no_access") ?? "login.ssoError.unknown"],
    ).toBe("Your account has no access to Vakt. Ask your administrator to add you to the right group.");
  });

  it("gives a general message for an unknown code and none without the parameter", () => {
    expect(ssoErrorKey("<script>")).toBe("login.ssoError.unknown");
    expect(ssoErrorKey("")).toBe("login.ssoError.unknown");
    expect(ssoErrorKey(null)).toBeNull();
  });

  it("takes the parameter out of the query string and keeps the rest", () => {
    expect(takeSsoError("?sso_error=expired")).toEqual({ key: "login.ssoError.expired", search: "" });
    expect(takeSsoError("?a=1&sso_error=no_account&b=2")).toEqual({
      key: "login.ssoError.no_account",
      search: "?a=1&b=2",
    });
    expect(takeSsoError("")).toEqual({ key: null, search: "" });
  });
});

describe("discovery", () => {
  it("asks only about complete addresses, by their domain", () => {
    expect(discoverableEmail(" Ola.Nordmann@Kommune.NO ")).toEqual({
      email: "ola.nordmann@kommune.no",
      domain: "kommune.no",
    });
    expect(discoverableEmail("ola@sub.kommune.no")?.domain).toBe("sub.kommune.no");
    for (const partial of ["", "ola", "ola@", "ola@kommune", "ola@kommune.", "a b@kommune.no", "@kommune.no"])
      expect(discoverableEmail(partial), partial).toBeNull();
  });
});

describe("the single sign-on start", () => {
  const id = "0b7c5a44-7f0e-4d7b-9d7e-2f9d6f1c8a11";
  it("returns to the page the user was going to", () => {
    expect(ssoStartUrl(id, "/admin/devices?x=1")).toBe(
      `/api/v1/auth/sso/${id}/start?returnTo=${encodeURIComponent("/admin/devices?x=1")}`,
    );
  });
  it("returns to the live view when there is nowhere, or nowhere safe, to go", () => {
    const live = `/api/v1/auth/sso/${id}/start?returnTo=%2F`;
    for (const bad of [
      null,
      "/login",
      "/login?sso_error=expired",
      "/invitation",
      "//evil.example",
      "/\\evil.example",
      "https://evil.example/",
      "relative",
    ])
      expect(ssoStartUrl(id, bad), String(bad)).toBe(live);
  });
});

describe("password login refused for single sign-on", () => {
  it("is recognised by the problem type's last segment, with _ or -", () => {
    expect(isSsoRequired(new ApiProblem(403, "sso_required", "x", null))).toBe(true);
    expect(isSsoRequired(new ApiProblem(403, "sso-required", "x", null))).toBe(true);
    expect(isSsoRequired(new ApiProblem(403, "forbidden", "x", null))).toBe(false);
    expect(isSsoRequired(new ApiProblem(401, "sso_required", "x", null))).toBe(false);
    expect(isSsoRequired(new Error("sso_required"))).toBe(false);
  });
});

describe("logout", () => {
  it("accepts the old 204 and the new answer", () => {
    expect(providerLogoutUrl(logoutAnswer.parse(undefined))).toBeNull();
    expect(providerLogoutUrl(logoutAnswer.parse({ providerLogoutUrl: null }))).toBeNull();
    const url =
      "http://127.0.0.1:4000/session/end?id_token_hint=x&post_logout_redirect_uri=http%3A%2F%2Fa%2Flogin";
    expect(providerLogoutUrl(logoutAnswer.parse({ providerLogoutUrl: url }))).toBe(url);
  });
  it("never navigates to anything but http(s)", () => {
    expect(providerLogoutUrl({ providerLogoutUrl: "javascript:alert(1)" })).toBeNull();
    expect(providerLogoutUrl({ providerLogoutUrl: "not a url" })).toBeNull();
    expect(() => logoutAnswer.parse({})).toThrow();
  });
});
