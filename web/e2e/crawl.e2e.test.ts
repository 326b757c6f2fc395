/**
 * Every screen as every demo role, in Norwegian and in English: each role lands on its home
 * page, no screen falls into its error boundary, and none shows a raw dictionary key,
 * "undefined", "NaN" or "Invalid Date"; in Norwegian also no word that only the English
 * dictionary has (an untranslated text or enum value). Then a screen whose chunk cannot be
 * fetched shows its boundary with a reload, in the user's language.
 */
import { recipient } from "@vakt/schemas";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { en, nb } from "../src/i18n/dict";
import { apiSession, axeViolations, demoEmail, type Harness, logIn, startHarness } from "./harness";

/** Each demo role and where it starts (ui/home.ts). */
const homes: Record<string, string> = {
  admin: "/",
  "nord.admin": "/admin",
  "nord.operator": "/",
  "sor.operator": "/",
  "sor.locator": "/",
  auditor: "/admin/activity",
};

type Lang = "nb" | "en";
const locales: Record<Lang, string> = { nb: "nb-NO", en: "en-GB" };
const dictionaries = { nb, en };

const words = (texts: string[]) =>
  new Set(
    texts.flatMap(
      (s) =>
        s
          .replace(/\{\w+\}/g, " ")
          .toLowerCase()
          .match(/\p{L}{4,}/gu) ?? [],
    ),
  );
// Words of the English dictionary that the Norwegian one never uses (and that are not shared names).
const englishOnly = (() => {
  const norwegian = words(Object.values(nb));
  return new Set([...words(Object.values(en))].filter((w) => !norwegian.has(w)));
})();
// A raw dictionary key on screen, as a word of its own.
const keyPatterns = Object.keys(en).map(
  (k) => [k, new RegExp(`(^|[^\\w.])${k.replace(/[.#]/g, "\\$&")}($|[^\\w.])`)] as const,
);

/** What is wrong with the text of a screen in a language, one line per finding. */
function findings(text: string, lang: Lang): string[] {
  const out: string[] = [];
  for (const bad of ["undefined", "NaN", "Invalid Date"]) if (text.includes(bad)) out.push(`"${bad}"`);
  for (const [k, pattern] of keyPatterns) if (pattern.test(text)) out.push(`key ${k}`);
  if (lang === "nb") {
    const seen = text.toLowerCase().match(/\p{L}{4,}/gu) ?? [];
    for (const w of new Set(seen)) if (englishOnly.has(w)) out.push(`English word "${w}"`);
  }
  return out;
}

async function settled(page: Page, lang: Lang) {
  await page.waitForLoadState("networkidle");
  await expect.poll(() => page.getByText(dictionaries[lang]["common.loading"]).count()).toBe(0);
}

/**
 * The console's own words on the page: code (topics, payloads), text marked as another language
 * (the language menu's "English") and e-mail addresses (nord.operator@…) are not.
 */
async function screenText(page: Page, lang: Lang): Promise<string> {
  const text = await page.evaluate((lang) => {
    // Emptied, not hidden (an <option>'s text counts even when hidden); the crawl leaves the page next.
    for (const el of document.querySelectorAll(`code, pre, [lang]:not([lang="${lang}"]):not(html)`))
      el.textContent = "";
    return document.body.innerText;
  }, lang);
  return text.replace(/\S+@\S+/g, " ");
}

async function pageIn(h: Harness, lang: Lang) {
  // axe is injected as a script, which the console's CSP rightly refuses otherwise.
  const context = await h.browser.newContext({
    viewport: { width: 1400, height: 900 },
    locale: locales[lang],
    bypassCSP: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

describe("every screen as every role, in Norwegian and in English", () => {
  let h: Harness;
  let recipientId = "";

  beforeAll(async () => {
    h = await startHarness();
    const admin = await apiSession(h.url, demoEmail("admin"));
    const all = await admin.call("GET", "/recipients", z.array(recipient));
    recipientId = all[0]?.id ?? "";
    if (!recipientId) throw new Error("no demo recipient");
  });

  afterAll(async () => {
    await h?.stop();
  });

  /**
   * Every screen a role reaches, with what is wrong on each, one line per finding. The roles are
   * crawled side by side, each in a browser context of its own: most of a screen's time is waiting
   * for the network to go quiet, not work.
   */
  async function crawl(lang: Lang): Promise<string[]> {
    const perRole = await Promise.all(
      Object.entries(homes).map(([role, home]) => crawlRole(lang, role, home)),
    );
    return perRole.flat();
  }

  async function crawlRole(lang: Lang, role: string, home: string): Promise<string[]> {
    const t = dictionaries[lang];
    const problems: string[] = [];
    const { context, page } = await pageIn(h, lang);
    // What a screen's boundary caught (ScreenBoundary logs it), so a failure names its cause.
    const caught: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && m.text().startsWith("screen failed")) caught.push(m.text());
    });
    page.on("pageerror", (e) => caught.push(`page error: ${e.message}`));
    await logIn(h, page, demoEmail(role), "/");
    await settled(page, lang);
    const landed = new URL(page.url()).pathname;
    if (landed !== home) problems.push(`${role}: home is ${landed}, not ${home}`);
    const paths = new Set(["/", "/history", `/recipients/${recipientId}`, "/admin", "/profile"]);
    await page.goto(`${h.url}/admin`);
    await settled(page, lang);
    for (const href of await page
      .getByRole("navigation", { name: t["nav.admin"] })
      .getByRole("link")
      .evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? "")))
      paths.add(href);
    for (const path of paths) {
      await page.goto(`${h.url}${path}`);
      await settled(page, lang);
      if ((await page.getByTestId("error-boundary").count()) > 0) {
        // Seen once in CI (2026-12-03, the history screen, one role, English), not since: said in
        // the log with its cause, and the screen gets one reload; one that fails again is a finding.
        console.warn(`${role} ${path}: boundary on first load: ${caught.join(" | ") || "no error logged"}`);
        caught.length = 0;
        await page.reload();
        await settled(page, lang);
        if ((await page.getByTestId("error-boundary").count()) > 0)
          problems.push(
            `${role} ${path}: the screen failed (error boundary): ${caught.join(" | ") || "no error logged"}`,
          );
      }
      // The header's logout says the console is in the language the crawl is about.
      const logout = page.locator(".topbar").getByRole("button", { name: t["nav.logout"], exact: true });
      if ((await logout.count()) !== 1) problems.push(`${role} ${path}: no header in ${lang}`);
      for (const f of findings(await screenText(page, lang), lang)) problems.push(`${role} ${path}: ${f}`);
    }
    await context.close();
    return problems;
  }

  for (const lang of ["nb", "en"] as const)
    it(`shows every role its home and no raw key or broken value (${lang})`, {
      timeout: 600_000,
    }, async () => {
      const problems = await crawl(lang);
      console.log(problems.join("\n"));
      expect(problems).toEqual([]);
    });

  for (const lang of ["en", "nb"] as const)
    it(`offers a reload in the user's language when a screen's chunk fails to load (${lang})`, async () => {
      const t = dictionaries[lang];
      const { context, page } = await pageIn(h, lang);
      try {
        await logIn(h, page, demoEmail("nord.operator"), "/");
        await page.getByRole("link", { name: t["nav.live"] }).waitFor();
        // The network drops the history screen's chunk (offline, or a proxy cut it off).
        const chunk = /\/assets\/HistoryPage-[^/]*\.js$/;
        await page.route(chunk, (route) => route.abort("failed"));
        await page.getByRole("link", { name: t["nav.history"] }).click();
        const boundary = page.getByTestId("error-boundary");
        await boundary.waitFor();
        expect(await boundary.getAttribute("data-kind")).toBe("updated");
        await boundary.getByRole("heading", { name: t["boundary.updatedTitle"] }).waitFor();
        expect(findings(await screenText(page, lang), lang)).toEqual([]);
        expect(await axeViolations(page)).toEqual([]);
        await page.unroute(chunk);
        await boundary.getByRole("button", { name: t["boundary.reload"] }).click();
        await page.getByRole("heading", { name: t["history.title"] }).first().waitFor();
        expect(await page.getByTestId("error-boundary").count()).toBe(0);
      } finally {
        await context.close();
      }
    });
});
