/**
 * "Forgot your password" from the login page, in Norwegian and English: the same answer for an
 * address with an account and one without (nothing to learn about who works where), a reset
 * e-mail only for the real one, and no axe finding on the way.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations, demoEmail, type Harness, newAuditPage, screenshot, startHarness } from "./harness";

const resetsOf = async (h: Harness, email: string) =>
  Number(
    (
      await h.db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM password_resets r JOIN staff_users u ON u.id = r.user_id WHERE u.email = $1",
        [email],
      )
    ).rows[0]?.n,
  );

/** From the login page through the form; the answer's text with the address taken out. */
async function askForReset(h: Harness, page: Page, email: string, words: Words): Promise<string> {
  await page.goto(h.url);
  await page.getByRole("link", { name: words.forgot }).click();
  await expect.poll(() => new URL(page.url()).pathname).toBe("/forgot-password");
  await page.getByRole("heading", { name: words.title }).waitFor();
  await page.getByLabel(words.email).fill(email);
  await page.getByRole("button", { name: words.submit }).click();
  const answer = page.getByTestId("reset-requested");
  await answer.waitFor();
  const text = await answer.innerText();
  expect(text).toContain(email);
  return text.replace(email, "<address>");
}

type Words = { forgot: string; title: string; email: string; submit: string; back: string };
const nb: Words = {
  forgot: "Glemt passordet?",
  title: "Glemt passord",
  email: "E-post",
  submit: "Send lenken",
  back: "Tilbake til innloggingen",
};
const en: Words = {
  forgot: "Forgot your password?",
  title: "Forgot your password",
  email: "E-mail",
  submit: "Send the link",
  back: "Back to the login",
};

describe("forgot password", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("answers the same for an unknown address and a real one, and mails only the real one", async () => {
    const { context, page } = await newAuditPage(h);
    try {
      const real = demoEmail("nord.operator");
      const before = await resetsOf(h, real);

      const unknown = await askForReset(h, page, "ingen.her@example.org", nb);
      expect(unknown).toMatch(/^Hvis <address> hører til en konto i Vakt/);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "forgot-password-answer");

      const known = await askForReset(h, page, real, nb);
      expect(known).toBe(unknown);
      expect(await resetsOf(h, real)).toBe(before + 1);

      // The answer leads back to the login form.
      await page.getByRole("link", { name: nb.back }).click();
      await page.getByLabel("Passord", { exact: true }).waitFor();
      expect(new URL(page.url()).pathname).toBe("/login");
    } finally {
      await context.close();
    }
  });

  it("asks and answers in English for an English browser, the form axe-clean", async () => {
    const context = await h.browser.newContext({ locale: "en-GB", bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      await page.goto(h.url);
      await page.getByRole("link", { name: en.forgot }).click();
      await page.getByRole("heading", { name: en.title }).waitFor();
      expect(await axeViolations(page)).toEqual([]);
      const real = demoEmail("sor.operator");
      const unknown = await askForReset(h, page, "nobody.here@example.org", en);
      expect(unknown).toMatch(/^If <address> belongs to a Vakt account/);
      expect(await askForReset(h, page, real, en)).toBe(unknown);
      expect(await resetsOf(h, real)).toBe(1);
    } finally {
      await context.close();
    }
  });
});
