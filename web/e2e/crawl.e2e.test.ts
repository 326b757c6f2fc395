/**
 * Every screen as every demo role, in Norwegian: no raw dictionary key, no
 * "undefined", "NaN" or "Invalid Date", and no word that only the English
 * dictionary has (an untranslated text or enum value).
 */
import { recipient } from "@vakt/schemas";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { en as entryEn, nb as entryNb } from "../src/i18n/dict";
import { enAdmin, nbAdmin } from "../src/i18n/dict-admin";
import { apiSession, demoEmail, type Harness, logIn, newPage, startHarness } from "./harness";

// The administration's texts arrive with its code; the crawl knows them all the same.
const en = { ...entryEn, ...enAdmin };
const nb = { ...entryNb, ...nbAdmin };

const roles = ["admin", "nord.admin", "nord.operator", "sor.operator", "sor.locator", "auditor"];

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
const keys = Object.keys(en);

/** What is wrong with the text of a screen, one line per finding. */
function findings(text: string): string[] {
  const out: string[] = [];
  for (const bad of ["undefined", "NaN", "Invalid Date"]) if (text.includes(bad)) out.push(`"${bad}"`);
  for (const k of keys)
    if (new RegExp(`(^|[^\\w.])${k.replace(/[.#]/g, "\\$&")}($|[^\\w.])`).test(text)) out.push(`key ${k}`);
  const seen = text.toLowerCase().match(/\p{L}{4,}/gu) ?? [];
  for (const w of new Set(seen)) if (englishOnly.has(w)) out.push(`English word "${w}"`);
  return out;
}

async function settled(page: Page) {
  await page.waitForLoadState("networkidle");
  await expect.poll(() => page.getByText("Laster…").count()).toBe(0);
}

describe("every screen in Norwegian, as every role", () => {
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

  it("shows no raw key, broken value or English word anywhere", { timeout: 600_000 }, async () => {
    const problems: string[] = [];
    for (const role of roles) {
      const { context, page } = await newPage(h);
      await logIn(h, page, demoEmail(role), "/");
      const paths = new Set(["/", "/history", `/recipients/${recipientId}`, "/admin", "/profile"]);
      await page.goto(`${h.url}/admin`);
      await settled(page);
      for (const href of await page
        .getByRole("navigation", { name: "Administrasjon" })
        .getByRole("link")
        .evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? "")))
        paths.add(href);
      for (const path of paths) {
        await page.goto(`${h.url}${path}`);
        await settled(page);
        // Code (topics, payloads) and text marked as another language are not the console's words,
        // and neither are e-mail addresses (nord.operator@…).
        const text = (
          await page.evaluate(() => {
            // Emptied, not hidden (an <option>'s text counts even when hidden); the crawl leaves the page next.
            for (const el of document.querySelectorAll('code, pre, [lang]:not([lang="nb"]):not(html)'))
              el.textContent = "";
            return document.body.innerText;
          })
        ).replace(/\S+@\S+/g, " ");
        for (const f of findings(text)) problems.push(`${role} ${path}: ${f}`);
      }
      await context.close();
    }
    console.log(problems.join("\n"));
    expect(problems).toEqual([]);
  });
});
