/**
 * Single sign-on in a real browser: a real OpenID provider in-process
 * (oidc-provider, from @vakt/api/testing), an administrator configuring it
 * through the console, an operator logging in through it (e-mail first, then
 * the provider's button) and out again through the provider's end-session,
 * an account without a mapped group turned away with a message, and password
 * login switched off for the organisation.
 */
import { startTestIdentityProvider, type TestIdentityProvider } from "@vakt/api/testing";
import { department, loginSettings, recipient, ssoProvider } from "@vakt/schemas";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApiSession,
  apiSession,
  contrastViolations,
  demoEmail,
  type Harness,
  logIn,
  newPage,
  PASSWORD,
  screenshot,
  startHarness,
} from "./harness";

const NORTH_OPERATORS = "vakt-operators-nord";

/** Every URL the page's main frame went to, in order (redirects included). */
function navigations(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) seen.push(req.url());
  });
  return seen;
}

describe("single sign-on in the console", () => {
  let h: Harness;
  let idp: TestIdentityProvider;
  let admin: ApiSession;
  let north: string;
  let callback: string;

  beforeAll(async () => {
    h = await startHarness();
    callback = `${h.url}/api/v1/auth/sso/callback`;
    idp = await startTestIdentityProvider({
      redirectUris: [callback],
      postLogoutRedirectUris: [`${h.url}/login`],
    });
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const d = departments.find((x) => x.name === "Hjemmetjenesten Nord");
    if (!d) throw new Error("no department Hjemmetjenesten Nord");
    north = d.id;
  });

  afterAll(async () => {
    await idp?.close();
    await h?.stop();
  });

  it("lets an administrator add, change and remove a provider on the Single sign-on screen", async () => {
    // A closed department takes no new rule (the API answers 409 department-closed): not offered.
    const closed = await admin.call("POST", "/departments", department, {
      name: "Sone Stengt",
      parentId: north,
    });
    await admin.call("POST", `/departments/${closed.id}/close`, department);
    const { context, page } = await newPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/sso");
    await page.getByRole("heading", { name: "Felles innlogging (SSO)" }).waitFor();
    const form = page.getByRole("form", { name: "Ny leverandør" });
    // What to register with the provider, before there is any.
    expect(await form.getByLabel("Redirect-URI").inputValue()).toBe(callback);
    await form.getByLabel("Navn på innloggingsknappen").fill("Skjema-ID");
    await form.getByLabel("Utsteder-URL (issuer)").fill(idp.issuer);
    await form.getByLabel("Klient-ID").fill(idp.clientId);
    await form.getByLabel("E-postdomener").fill("skjema.vakt.local, Annet.vakt.local");
    // Checked before sending: no secret yet.
    await form.getByRole("button", { name: "Opprett" }).click();
    await form.getByRole("alert").getByText("Klienthemmelighet").waitFor();
    await form.getByLabel("Klienthemmelighet").fill(idp.clientSecret);
    await form.getByRole("button", { name: "Legg til regel" }).click();
    const rule = form.getByTestId("sso-rule").first();
    const offered = () =>
      rule
        .getByLabel("Avdeling", { exact: true })
        .locator("option")
        .evaluateAll((os) => os.map((o) => o.textContent?.trim()));
    await expect.poll(offered, { timeout: 15_000 }).toContain("Hjemmetjenesten Nord");
    expect(await offered()).not.toContain("Sone Stengt");
    await rule.getByLabel("Gruppe (verdi i claimet)").fill(NORTH_OPERATORS);
    await rule.getByLabel("Rolle", { exact: true }).selectOption("operator");
    await rule.getByLabel("Avdeling", { exact: true }).selectOption({ label: "Hjemmetjenesten Nord" });
    await form.getByLabel("Opprett brukere ved første innlogging").check();
    await form.getByRole("button", { name: "Opprett" }).click();

    // Created: the form turns into the provider's edit form with the redirect URI to register.
    const edit = page.getByRole("form", { name: "Endre Skjema-ID" });
    await edit.getByRole("status").getByText("Opprettet").waitFor();
    expect(await edit.getByLabel("Redirect-URI").inputValue()).toBe(callback);
    expect(await edit.getByLabel("Klienthemmelighet").inputValue()).toBe("");
    await page.getByTestId("sso-providers-table").getByText("Skjema-ID").waitFor();
    const stored = (await admin.call("GET", "/sso-providers", z.array(ssoProvider))).find(
      (p) => p.displayName === "Skjema-ID",
    );
    expect(stored).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      hasClientSecret: true,
      emailDomains: ["skjema.vakt.local", "annet.vakt.local"],
      createUsers: true,
      requireVerifiedEmail: true,
      enabled: true,
      mappingRules: [{ group: NORTH_OPERATORS, role: "operator", departmentId: north }],
      redirectUri: callback,
    });
    await screenshot(page, "sso-01-provider-created");

    // Changed with the secret left empty: the stored one is kept.
    await edit.getByLabel("Aktivert").uncheck();
    await edit.getByRole("button", { name: "Lagre" }).click();
    await edit.getByRole("status").getByText("Lagret").waitFor();
    const changed = (await admin.call("GET", "/sso-providers", z.array(ssoProvider))).find(
      (p) => p.id === stored?.id,
    );
    expect(changed).toMatchObject({ enabled: false, hasClientSecret: true });

    // Removed after confirming.
    await page.getByRole("button", { name: "Slett: Skjema-ID" }).click();
    await page.getByRole("group", { name: "Slett" }).getByRole("button", { name: "Slett" }).click();
    await page.getByText("Ingen identitetsleverandører ennå.").waitFor();
    expect(await admin.call("GET", "/sso-providers", z.array(ssoProvider))).toEqual([]);
    await context.close();
  });

  it("logs an operator in through the provider and back to the page asked for, and out through the provider", async () => {
    await admin.call("POST", "/sso-providers", ssoProvider, {
      displayName: "Demo-ID",
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      emailDomains: ["demo.vakt.local"],
      createUsers: true,
      mappingRules: [{ group: NORTH_OPERATORS, role: "operator", departmentId: north }],
    });
    const r = await admin.call("POST", "/recipients", recipient, {
      departmentId: north,
      firstName: "Rut",
      lastName: "Retur",
      legalBasis: "consent",
    });
    idp.setAccount({
      sub: "u1",
      email: "sso.operator@demo.vakt.local",
      emailVerified: true,
      groups: [NORTH_OPERATORS, "unrelated"],
      givenName: "Solveig",
      familyName: "Single",
    });
    idp.loginAs("u1");

    const { context, page } = await newPage(h);
    const went = navigations(page);
    // A link to a recipient: the login page first, and back there after the provider.
    await page.goto(`${h.url}/recipients/${r.id}`);
    await page.getByLabel("E-post").fill("sso.operator@demo.vakt.local");
    const button = page.getByRole("button", { name: "Logg inn med Demo-ID" });
    await button.waitFor();
    await screenshot(page, "sso-02-login-button");
    await button.click();
    await page.locator(".topbar").getByText("Solveig Single").waitFor();
    await page.getByRole("heading", { name: "Tjenestemottaker: Rut Retur" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/recipients/${r.id}`);
    expect(went.some((u) => u.startsWith(`${idp.issuer}/`))).toBe(true);
    expect(went.some((u) => u.startsWith(`${callback}?`))).toBe(true);
    await screenshot(page, "sso-03-logged-in");

    went.length = 0;
    await page.getByRole("button", { name: "Logg ut" }).click();
    await page.getByRole("heading", { name: "Logg inn i Vakt" }).waitFor();
    await expect.poll(() => page.url()).toBe(`${h.url}/login`);
    // Through the provider's end-session (which confirms itself) and back to login.
    expect(went.some((u) => u.startsWith(`${idp.issuer}/session/end`))).toBe(true);
    expect((await context.cookies(h.url)).find((c) => c.name === "vakt_session")).toBeUndefined();
    const me = await page.evaluate(async () => (await fetch("/api/v1/auth/me")).status);
    expect(me).toBe(401);
    await context.close();
  });

  it("turns away an account without a mapped group with a message on the login page", async () => {
    idp.setAccount({
      sub: "u2",
      email: "no.group@demo.vakt.local",
      emailVerified: true,
      groups: ["vakt-something-else"],
    });
    idp.loginAs("u2");
    const { context, page } = await newPage(h);
    await page.goto(h.url);
    await page.getByLabel("E-post").fill("no.group@demo.vakt.local");
    await page.getByRole("button", { name: "Logg inn med Demo-ID" }).click();
    await page
      .getByRole("alert")
      .getByText(
        "Kontoen din har ikke tilgang til Vakt. Be administratoren om å legge deg til i riktig gruppe.",
      )
      .waitFor();
    // The code is read once and dropped from the address.
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(new URL(page.url()).search).toBe("");
    expect(await page.locator(".topbar").count()).toBe(0);
    await screenshot(page, "sso-04-no-access");
    await context.close();
  });

  it("has enough contrast (WCAG AA, axe-core) on the login page with single sign-on and on its screen, light and dark", async () => {
    const problems: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await h.browser.newContext({
        viewport: { width: 1400, height: 900 },
        locale: "nb-NO",
        colorScheme,
        bypassCSP: true,
      });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(`${h.url}/login?sso_error=no_access`);
      await page.getByLabel("E-post").fill("someone@demo.vakt.local");
      await page.getByRole("button", { name: "Logg inn med Demo-ID" }).waitFor();
      await page.getByRole("alert").waitFor();
      expect(await page.locator("html").getAttribute("data-theme")).toBe(colorScheme);
      problems.push(...(await contrastViolations(page, `${colorScheme} login`)));
      await logIn(h, page, demoEmail("admin"), "/admin/sso");
      await page.getByTestId("sso-providers-table").getByText("Demo-ID").waitFor();
      await page.getByRole("button", { name: "Endre: Demo-ID" }).click();
      await page.getByTestId("sso-rule").first().waitFor();
      problems.push(...(await contrastViolations(page, `${colorScheme} single sign-on screen`)));
      await context.close();
    }
    expect(problems).toEqual([]);
  });

  it("switches password login off: staff are sent to single sign-on, an administrator keeps break-glass", async () => {
    const { context, page } = await newPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/sso");
    const settings = page.getByRole("form", { name: "Innlogging" });
    await settings.getByRole("switch", { name: "Tillat innlogging med passord" }).uncheck();
    await settings.getByRole("button", { name: "Lagre" }).click();
    await settings.getByRole("status").getByText("Lagret").waitFor();
    expect(await admin.call("GET", "/organisation/login-settings", loginSettings)).toEqual({
      localPasswordLogin: false,
    });
    await context.close();

    const staff = await newPage(h);
    await staff.page.goto(h.url);
    await staff.page.getByLabel("E-post").fill(demoEmail("nord.operator"));
    await staff.page.getByLabel("Passord").fill(PASSWORD);
    await staff.page.getByRole("button", { name: "Logg inn", exact: true }).click();
    await staff.page.getByRole("alert").getByText("logger inn med felles innlogging").waitFor();
    await staff.page.getByRole("button", { name: "Logg inn med Demo-ID" }).waitFor();
    await screenshot(staff.page, "sso-05-password-refused");
    await staff.context.close();

    // Break-glass: the organisation administrator still logs in with the password,
    // and a password session logs out here only (providerLogoutUrl null).
    const glass = await newPage(h);
    const went = navigations(glass.page);
    await logIn(h, glass.page, demoEmail("admin"), "/");
    await glass.page.getByRole("button", { name: "Logg ut" }).click();
    await glass.page.getByRole("heading", { name: "Logg inn i Vakt" }).waitFor();
    expect(went.some((u) => u.startsWith(idp.issuer))).toBe(false);
    expect(await glass.page.evaluate(async () => (await fetch("/api/v1/auth/me")).status)).toBe(401);
    await glass.context.close();
    await admin.call("PUT", "/organisation/login-settings", loginSettings, { localPasswordLogin: true });
  });
});
