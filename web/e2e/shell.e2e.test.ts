import { department, recipient } from "@vakt/schemas";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApiSession,
  apiSession,
  axeViolations,
  demoEmail,
  type Harness,
  logIn,
  PASSWORD,
  screenshot,
  startHarness,
} from "./harness";

/** What no Norwegian screen may show: an error, a raw key, or a broken value. */
async function expectCleanNorwegian(page: Page) {
  const text = await page.locator("body").innerText();
  expect(text).not.toMatch(/Noe gikk galt|Something went wrong|position:read|undefined|NaN|Invalid Date/);
}

/** Holds the page's requests for `url` (a stalled network) until the returned function lets them through. */
async function holdRequests(page: Page, url: RegExp): Promise<() => void> {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(url, async (route) => {
    await released;
    await route.continue();
  });
  return release;
}

describe("the console shell", () => {
  let h: Harness;
  let admin: ApiSession;
  const contexts: BrowserContext[] = [];
  let erasedId = "";
  let restrictedId = "";

  async function pageAs(key: string, path = "/"): Promise<Page> {
    // axe is injected as a script, which the console's CSP rightly refuses otherwise.
    const context = await h.browser.newContext({
      viewport: { width: 1400, height: 900 },
      locale: "nb-NO",
      bypassCSP: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await logIn(h, page, demoEmail(key), path);
    return page;
  }

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const zone = departments.find((d) => d.name === "Sone 1");
    if (!zone) throw new Error("no department Sone 1");
    const make = (firstName: string) =>
      admin.call("POST", "/recipients", recipient, {
        departmentId: zone.id,
        firstName,
        lastName: "Testesen",
        legalBasis: "consent",
      });
    erasedId = (await make("Erle")).id;
    restrictedId = (await make("Rita")).id;
    await admin.call("POST", `/privacy/recipients/${erasedId}/erasure`, z.unknown(), {
      reason: "Tjenestemottakeren ba om sletting",
    });
    await admin.call("PUT", `/privacy/recipients/${restrictedId}/restriction`, z.unknown(), {
      reason: "Tjenestemottakeren ba om begrensning",
    });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await h?.stop();
  });

  it("starts an auditor on the activity log, not on a refused live map", async () => {
    const page = await pageAs("auditor");
    await expect.poll(() => new URL(page.url()).pathname).toBe("/admin/activity");
    await page.getByRole("heading", { name: "Aktivitetslogg" }).first().waitFor();
    expect(await page.getByRole("link", { name: "Live-kart" }).count()).toBe(0);
    await expectCleanNorwegian(page);
    await screenshot(page, "shell-01-auditor-home");
    expect(await axeViolations(page)).toEqual([]);
  });

  it("starts a department administrator on administration", async () => {
    const page = await pageAs("nord.admin");
    await expect.poll(() => new URL(page.url()).pathname).toBe("/admin");
    await page.getByRole("navigation", { name: "Administrasjon" }).waitFor();
    await page.locator("#admin-title").waitFor();
    await expectCleanNorwegian(page);
  });

  it("starts operators, locators and organisation administrators on the live map", async () => {
    for (const key of ["nord.operator", "sor.locator", "admin"]) {
      const page = await pageAs(key);
      await page.getByRole("link", { name: "Live-kart" }).waitFor();
      expect(new URL(page.url()).pathname, key).toBe("/");
      await expectCleanNorwegian(page);
    }
  });

  it("says plainly that a recipient was erased or restricted, to an administrator and to an operator", async () => {
    const page = await pageAs("admin", `/recipients/${erasedId}`);
    const gone = page.getByTestId("recipient-unavailable");
    await gone.waitFor();
    expect(await gone.getAttribute("data-kind")).toBe("erased");
    expect(await gone.innerText()).toMatch(/Tjenestemottakeren er ikke tilgjengelig[\s\S]*ble slettet \d/);
    await expectCleanNorwegian(page);
    await screenshot(page, "shell-02-erased-recipient");
    expect(await axeViolations(page)).toEqual([]);

    await page.goto(`${h.url}/recipients/${restrictedId}`);
    await page.locator('[data-testid="recipient-unavailable"][data-kind="restricted"]').waitFor();
    expect(await gone.innerText()).toMatch(/begrenset siden \d/);
    await expectCleanNorwegian(page);

    const operator = await pageAs("sor.operator", `/recipients/${erasedId}`);
    const plain = operator.getByTestId("recipient-unavailable");
    await plain.waitFor();
    expect(await plain.getAttribute("data-kind")).toBe("unavailable");
    expect(await plain.innerText()).toMatch(/kan ikke vises/);
    await expectCleanNorwegian(operator);
    await plain.getByRole("link", { name: "Tilbake til startsiden" }).click();
    await expect.poll(() => new URL(operator.url()).pathname).toBe("/");
  });

  it("offers a reload when a screen's chunk is gone after a deploy, and the reload works", async () => {
    const page = await pageAs("nord.operator");
    await page.getByRole("link", { name: "Live-kart" }).waitFor();
    // The old console asks for the administration chunk of its own build; the new server has none.
    const gone = /\/assets\/AdminPage-[^/]*\.js$/;
    await page.route(gone, (route) => route.fulfill({ status: 404, body: "Not Found" }));
    await page.getByRole("link", { name: "Administrasjon" }).click();
    const boundary = page.getByTestId("error-boundary");
    await boundary.waitFor();
    expect(await boundary.getAttribute("data-kind")).toBe("updated");
    expect(await boundary.innerText()).toMatch(/Konsollen er oppdatert/);
    // The header stays, so the night shift still sees where they are and can go back to the map.
    await page.locator(".topbar").waitFor();
    await screenshot(page, "shell-03-chunk-failed");
    expect(await axeViolations(page)).toEqual([]);
    await page.unroute(gone);
    await boundary.getByRole("button", { name: "Last inn på nytt" }).click();
    await page.getByRole("navigation", { name: "Administrasjon" }).waitFor();
    expect(await page.getByTestId("error-boundary").count()).toBe(0);
  });

  it("never stays blank while the dictionary does not come: a reload is offered, and the console replaces it when it does", async () => {
    const context = await h.browser.newContext({ locale: "nb-NO", bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    // The first render waits for the language's gate texts: their request hangs (a stalled network)
    // until the test lets it through.
    const release = await holdRequests(page, /\/assets\/dict-gate-[^/]*\.js$/);
    await page.goto(h.url);
    const prompt = page.getByRole("alert").filter({ hasText: "Vakt kunne ikke lastes" });
    await prompt.waitFor({ timeout: 20_000 });
    expect(await prompt.innerText()).toMatch(/Vakt could not load/);
    expect(await page.getByRole("button", { name: /Last inn på nytt/ }).count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    release();
    await page.getByRole("button", { name: "Logg inn" }).waitFor();
    expect(await prompt.count()).toBe(0);
  });

  it("shows the login form before the whole dictionary has come, and the console only once it has", async () => {
    const context = await h.browser.newContext({ locale: "nb-NO", bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    const release = await holdRequests(page, /\/assets\/dict-nb-[^/]*\.js$/);
    await page.goto(h.url);
    await page.getByLabel("E-post").fill(demoEmail("nord.operator"));
    await page.getByLabel("Passord", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Logg inn" }).click();
    // Logged in, the console waits for its texts instead of showing raw keys.
    await page
      .getByText(/^Laster/)
      .waitFor({ timeout: 30_000 })
      .catch(async (err: unknown) => {
        throw new Error(
          `no "Laster": the page shows ${JSON.stringify(await page.locator("body").innerText())}`,
          {
            cause: err,
          },
        );
      });
    expect(await page.locator(".topbar").count()).toBe(0);
    expect(await page.locator("body").innerText()).not.toMatch(/\b[a-z]+\.[a-zA-Z]+\b/);
    release();
    await page.locator(".topbar").waitFor({ timeout: 30_000 });
    await expectCleanNorwegian(page);
  });

  it("refuses an empty login and a malformed address under their fields, in Norwegian and axe-clean", async () => {
    const context = await h.browser.newContext({ locale: "nb-NO", bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(h.url);
    await page.getByRole("button", { name: "Logg inn" }).click();
    await page.getByText("Skriv e-postadressen du logger inn med.").waitFor();
    await page.getByText("Skriv passordet ditt.").waitFor();
    expect(await page.getByLabel("E-post").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Passord", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page)).toEqual([]);
    // A malformed address is refused here too, before any request reaches the server.
    let loginRequests = 0;
    page.on("request", (r) => {
      if (r.url().endsWith("/api/v1/auth/login")) loginRequests += 1;
    });
    await page.getByLabel("E-post").fill("ikke en adresse");
    await page.getByLabel("Passord", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Logg inn" }).click();
    await page.getByText("Skriv e-postadressen du logger inn med.").waitFor();
    expect(await page.getByText("Skriv passordet ditt.").count()).toBe(0);
    expect(loginRequests).toBe(0);
    await expectCleanNorwegian(page);
    // A wrong password is said as such; it is not a session that ended.
    await page.getByLabel("E-post").fill(demoEmail("nord.operator"));
    await page.getByLabel("Passord", { exact: true }).fill("not the password at all");
    await page.getByRole("button", { name: "Logg inn" }).click();
    await page.getByText("E-postadressen eller passordet er feil.").waitFor();
    expect(loginRequests).toBe(1);
    expect(await page.getByText("Økten er avsluttet").count()).toBe(0);
  });
});
