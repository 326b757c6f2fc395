/**
 * The security screens in a real browser, in Norwegian, each checked through the API afterwards:
 * API tokens (create, secret once, revoke), the organisation's second-factor rule, and one's own
 * authenticator app and sessions on the profile page. Each screen passes axe's WCAG A/AA audit.
 */
import { apiToken, organisation, staffUser, staffUserCreated } from "@vakt/schemas";
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApiSession,
  apiSession,
  axeViolations,
  demoEmail,
  type Harness,
  logIn,
  newAuditPage,
  newPage,
  PASSWORD,
  screenshot,
  startHarness,
} from "./harness";

describe("the security screens", () => {
  let h: Harness;
  let admin: ApiSession;

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
  });

  afterAll(async () => {
    await h?.stop();
  });

  it("creates an API token that works, shows its secret once, and revokes it after asking", async () => {
    const { context, page } = await newAuditPage(h);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: h.url });
    await logIn(h, page, demoEmail("admin"), "/admin/tokens");
    await page.getByRole("heading", { name: "API-nøkler" }).waitFor();
    const form = page.getByRole("form", { name: "Ny API-nøkkel" });
    // The form refuses what the API would, in words: nothing chosen yet.
    await form.getByRole("button", { name: "Opprett API-nøkkel" }).click();
    await form.getByText("Gi nøkkelen et navn").waitFor();
    await form.getByText("Velg minst én ting nøkkelen kan gjøre.").waitFor();
    const name = `Statistikk ${Date.now()}`;
    await form.getByLabel("Navn", { exact: true }).fill(name);
    await form.getByLabel("Lese alarmer").check();
    await form.getByLabel("Be en enhet om posisjonen nå").check();
    await form.getByRole("button", { name: "Opprett API-nøkkel" }).click();
    await form.getByText("krever en nøkkel med ekte ID-er").waitFor();
    await form.getByLabel("Be en enhet om posisjonen nå").uncheck();
    await form.getByRole("button", { name: "Opprett API-nøkkel" }).click();

    const shown = page.getByTestId("token-secret");
    await shown.getByText(`API-nøkkelen «${name}» er opprettet`).waitFor();
    const secret = (await shown.getByTestId("token-secret-value").textContent()) ?? "";
    expect(secret.length).toBeGreaterThan(20);
    await shown.getByRole("button", { name: "Kopier", exact: true }).click();
    await shown.getByText("Kopiert.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    expect(await axeViolations(page, "main")).toEqual([]);
    await screenshot(page, "security-01-token-created");

    const stored = (await admin.call("GET", "/tokens", z.array(apiToken))).find((t) => t.name === name);
    expect(stored).toMatchObject({ permissions: ["alarm:read"], departmentIds: null, pseudonymous: true });
    expect(JSON.stringify(stored)).not.toContain(secret);
    const asToken = () =>
      fetch(`${h.url}/api/v1/alarms`, { headers: { authorization: `Bearer ${secret}` } }).then(
        (r) => r.status,
      );
    expect(await asToken()).toBe(200);

    // The secret is not shown again once dismissed, nor after a reload.
    await shown.getByRole("button", { name: "Jeg har kopiert den" }).click();
    await expect.poll(() => page.getByTestId("token-secret").count()).toBe(0);
    const row = page.getByTestId("token-row").filter({ hasText: name });
    await row.getByRole("button", { name: "Trekk tilbake" }).click();
    await row.getByText(`Trekke tilbake «${name}»?`).waitFor();
    expect(await axeViolations(page, "main")).toEqual([]);
    await row.getByRole("button", { name: "Ja, trekk tilbake" }).click();
    await row.getByText("Trukket tilbake").waitFor();
    const revoked = (await admin.call("GET", "/tokens", z.array(apiToken))).find((t) => t.name === name);
    expect(revoked?.revokedAt).not.toBeNull();
    expect(await asToken()).toBe(401);
    await context.close();
  });

  it("sets whether administrators must use an authenticator app", async () => {
    const before = await admin.call("GET", "/organisation", organisation);
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/organisation");
    const form = page.getByTestId("organisation-form");
    const box = form.getByLabel("Administratorer må bruke en autentiseringsapp (tofaktor)");
    await box.waitFor();
    expect(await box.isChecked()).toBe(before.requireAdminSecondFactor);
    await form.getByLabel("Tidssone").fill("Europa/Oslo");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByText("Velg en tidssone fra listen").waitFor();
    expect(await axeViolations(page, "main")).toEqual([]);
    await form.getByLabel("Tidssone").fill("Europe/Oslo");
    await box.setChecked(!before.requireAdminSecondFactor);
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByText("Lagret").waitFor();
    const after = await admin.call("GET", "/organisation", organisation);
    expect(after).toEqual({
      ...before,
      timeZone: "Europe/Oslo",
      requireAdminSecondFactor: !before.requireAdminSecondFactor,
    });
    await screenshot(page, "security-02-organisation");
    // Back as it was, so the demo administrator logs in without a second factor in the tests after.
    await admin.call("PATCH", "/organisation", organisation, {
      requireAdminSecondFactor: before.requireAdminSecondFactor,
      timeZone: before.timeZone,
    });
    await context.close();
  });

  it("turns one's own authenticator app on with the QR code's secret and off again, and ends the other sessions", async () => {
    const email = `profil.${Date.now()}@demo.vakt.local`;
    const invited = await admin.call("POST", "/users", staffUserCreated, {
      email,
      firstName: "Pia",
      lastName: "Profil",
      grants: [{ role: "operator", departmentId: null }],
    });
    const accepted = await fetch(`${h.url}/api/v1/auth/invitations/accept`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: h.url },
      body: JSON.stringify({ token: invited.invitationToken, password: PASSWORD }),
    });
    expect(accepted.status).toBe(204);
    const userId = invited.user.id;
    const secondFactor = async () =>
      (await admin.call("GET", `/users/${userId}`, staffUser)).secondFactorEnabled;

    const { context, page } = await newAuditPage(h);
    await logIn(h, page, email, "/profile");
    const box = page.getByTestId("totp");
    await box.getByText("Av: du logger inn med bare passordet.").waitFor();
    await box.getByRole("button", { name: "Sett opp en autentiseringsapp" }).click();
    await box.getByRole("img", { name: "QR-kode for autentiseringsappen" }).waitFor();
    const secret = (await box.getByTestId("totp-secret").textContent()) ?? "";
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await box.getByLabel("Den sekssifrede koden appen viser").fill("12");
    await box.getByRole("button", { name: "Bekreft og slå på" }).click();
    await box.getByText("Seks sifre.").waitFor();
    expect(await axeViolations(page, '[data-testid="profile-security"]')).toEqual([]);
    await screenshot(page, "security-03-totp-qr");
    // The previous step's code enrols; the next one turns it off (a code is never used twice).
    await box
      .getByLabel("Den sekssifrede koden appen viser")
      .fill(totp.generate({ timestamp: Date.now() - 30_000 }));
    await box.getByRole("button", { name: "Bekreft og slå på" }).click();
    await box.getByText("På: hver innlogging ber om en kode fra appen.").waitFor();
    expect(await secondFactor()).toBe(true);

    await box
      .getByLabel("Den sekssifrede koden appen viser")
      .fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await box.getByRole("button", { name: "Slå av" }).click();
    await box.getByText("Av: du logger inn med bare passordet.").waitFor();
    expect(await secondFactor()).toBe(false);

    // Another browser logs in; this one lists both and ends the other.
    const other = await newPage(h);
    await logIn(h, other.page, email, "/profile");
    await page.reload();
    const sessions = page.getByTestId("own-sessions");
    await expect.poll(() => sessions.getByTestId("own-session").count()).toBe(2);
    await sessions.getByText("(Denne nettleseren)").waitFor();
    expect(await axeViolations(page, '[data-testid="profile-security"]')).toEqual([]);
    await sessions.getByRole("button", { name: "Logg ut de andre øktene" }).click();
    await sessions.getByText("1 annen økt avsluttet.").waitFor();
    await expect.poll(() => sessions.getByTestId("own-session").count()).toBe(1);
    expect((await other.context.request.get(`${h.url}/api/v1/auth/me`)).status()).toBe(401);
    expect((await context.request.get(`${h.url}/api/v1/auth/me`)).status()).toBe(200);
    await other.context.close();
    await context.close();
  });
});
