import { describe, expect, it } from "vitest";
import { consoleReturnPath, issuerUrl, ssoProviderCreate } from "./sso";

describe("single sign-on contract", () => {
  it.each(["/", "/alarms", "/recipients/1?tab=history#map"])("accepts the console path %s", (p) => {
    expect(consoleReturnPath.parse(p)).toBe(p);
  });

  it.each([
    "//evil.example",
    "/\\evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "alarms",
    "/ x",
  ])("refuses %s as a return path, which could leave the console", (p) => {
    expect(consoleReturnPath.safeParse(p).success).toBe(false);
  });

  it("takes https issuers anywhere and http only on this machine", () => {
    expect(issuerUrl.safeParse("https://login.microsoftonline.com/tenant/v2.0").success).toBe(true);
    expect(issuerUrl.safeParse("http://127.0.0.1:4000").success).toBe(true);
    expect(issuerUrl.safeParse("http://idp.kommune.no").success).toBe(false);
    expect(issuerUrl.safeParse("ftp://idp.kommune.no").success).toBe(false);
  });

  it("fills defaults and insists on the openid scope", () => {
    const base = {
      displayName: "Kommune",
      issuer: "https://idp.kommune.no",
      clientId: "vakt",
      clientSecret: "s",
    };
    const p = ssoProviderCreate.parse(base);
    expect(p).toMatchObject({
      scopes: ["openid", "email", "profile"],
      emailClaim: "email",
      requireVerifiedEmail: true,
    });
    expect(ssoProviderCreate.safeParse({ ...base, scopes: ["email"] }).success).toBe(false);
    expect(ssoProviderCreate.safeParse({ ...base, emailDomains: ["Kommune.NO"] }).data?.emailDomains).toEqual(
      ["kommune.no"],
    );
  });
});
