/**
 * The demo organisation as `npm start` leaves it: its administrator must give
 * a second factor, and the banner's e-mail, password and TOTP secret are all a
 * person needs. The other suites switch the second factor off for their own
 * database; this one keeps what the seed enrolled.
 */
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations, type Harness, newAuditPage, screenshot, startHarness } from "./harness";

describe("the demo administrator's login", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ keepSeededSecondFactor: true });
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
  });

  it("asks the seeded administrator for the printed second factor, refuses a wrong code, and lets the right one in", async () => {
    const { email, password, totp: printed } = h.demoLogin;
    const totp = new TOTP({ secret: Secret.fromBase32(printed.secret) });
    expect(printed.otpauthUri).toContain(encodeURIComponent(email));

    // The password alone opens nothing: the API holds the session at the second-factor step.
    const first = await fetch(`${h.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: h.url },
      body: JSON.stringify({ email, password }),
    });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { stage: string }).stage).toBe("second_factor_required");
    const cookie = first.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const recipients = await fetch(`${h.url}/api/v1/recipients`, { headers: { cookie } });
    expect(recipients.status).toBe(401);
    expect(((await recipients.json()) as { type: string }).type).toMatch(/second-factor-required$/);

    const { context, page } = await newAuditPage(h);
    try {
      await page.goto(h.url);
      await page.getByLabel("E-post").fill(email);
      await page.getByLabel("Passord").fill(password);
      await page.getByRole("button", { name: "Logg inn" }).click();
      const codeField = page.getByLabel("Kode fra autentiseringsappen");
      await codeField.waitFor();

      // A code valid in no step near now (the server allows one step either side).
      const near = new Set([-1, 0, 1].map((s) => totp.generate({ timestamp: Date.now() + s * 30_000 })));
      const wrong = ["000000", "111111", "222222", "333333"].find((c) => !near.has(c)) ?? "444444";
      await codeField.fill(wrong);
      await page.getByRole("button", { name: "Bekreft" }).click();
      await page.getByText("Koden er feil eller allerede brukt").waitFor();
      expect(await page.locator(".topbar").count()).toBe(0);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "demo-second-factor-refused");

      await codeField.fill(totp.generate());
      await page.getByRole("button", { name: "Bekreft" }).click();
      await page.locator(".topbar").waitFor();
      // The session the console now holds is a full one: the page reads recipients with it.
      const status = await page.evaluate(async () => (await fetch("/api/v1/recipients")).status);
      expect(status).toBe(200);
    } finally {
      await context.close();
    }
  });
});
