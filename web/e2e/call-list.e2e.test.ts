/**
 * The call list (issue 16 item 2) in Chromium against the whole stack: an
 * administrator keeps a recipient's call list (adds, orders, changes and removes
 * contacts, each stored); an operator opens an alarm, sees
 * the call list first with tel: links, logs a call, and the call is in the
 * alarm's timeline in the panel and on the history screen; each user sets their
 * own phone and alarm sound on "my profile", kept on the server. Writes the
 * README's pictures of the alarm panel and the history with the call.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { activityEntry, department, profile, recipientContact, staffUser } from "@vakt/schemas";
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
  RESULTS_DIR,
  recipientWithDevice,
  screenshot,
  startHarness,
  type TestDevice,
} from "./harness";

const OSLO = { lat: 59.9139, lon: 10.7522 };
/** The README's pictures: written when missing, or with VAKT_UPDATE_SCREENSHOT=1. */
const PANEL_PNG = join(import.meta.dirname, "../docs/call-list.png");
const HISTORY_PNG = join(import.meta.dirname, "../docs/call-history.png");

async function keepPicture(name: string, target: string) {
  if (process.env.VAKT_UPDATE_SCREENSHOT || !existsSync(target)) {
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(RESULTS_DIR, `${name}.png`), target);
  }
}

describe("call list", () => {
  let h: Harness;
  let admin: ApiSession;
  let zone1: string;
  let person: TestDevice;
  let odaId: string;

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const d = departments.find((x) => x.name === "Sone 1");
    if (!d) throw new Error("no Sone 1");
    zone1 = d.id;
    person = await recipientWithDevice(h, admin, zone1, "Ragnhild", "Ringeliste");
    await person.position(OSLO.lat, OSLO.lon);
    const users = await admin.call("GET", "/users", z.array(staffUser));
    odaId = users.find((u) => u.email === demoEmail("nord.operator"))?.id ?? "";
    await admin.call("POST", `/recipients/${person.recipientId}/contacts`, recipientContact, {
      name: "Siri Ringeliste",
      relation: "next_of_kin",
      phone: "+47 913 45 678",
      notes: "Datter, har nøkkel",
      availability: "07-23",
    });
  });

  afterAll(async () => {
    await person?.client.endAsync();
    await h?.stop();
  });

  it("lets an administrator add to the call list with a national number and put it in order", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), `/recipients/${person.recipientId}`);
    const section = page.getByTestId("contacts-admin");
    await section.getByText("Siri Ringeliste").waitFor();
    await section.getByLabel("Navn", { exact: true }).fill("Nils Nabo");
    await section.getByLabel("Relasjon").selectOption("neighbour");
    await section.getByLabel("Telefon", { exact: true }).fill("not a number");
    await section.getByRole("button", { name: "Legg til på ringelisten" }).click();
    // Refused under the field, in words, before anything is sent.
    await section
      .getByRole("alert")
      .getByText("Skriv et telefonnummer som kan ringes", { exact: false })
      .waitFor();
    expect(await section.getByLabel("Telefon", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    await section.getByLabel("Telefon", { exact: true }).fill("412 34 567");
    await section.getByRole("button", { name: "Legg til på ringelisten" }).click();
    await section.getByText("+4741234567").waitFor();
    expect(await section.locator("li").allTextContents()).toEqual([
      expect.stringContaining("Siri Ringeliste"),
      expect.stringContaining("Nils Nabo"),
    ]);
    await section.getByRole("button", { name: "Flytt Nils Nabo opp" }).click();
    await expect
      .poll(async () => (await section.locator("li").allTextContents())[0], { timeout: 10_000 })
      .toContain("Nils Nabo");
    // And back: the next of kin first, for the alarm below.
    await section.getByRole("button", { name: "Flytt Siri Ringeliste opp" }).click();
    await expect
      .poll(async () => (await section.locator("li").allTextContents())[0], { timeout: 10_000 })
      .toContain("Siri Ringeliste");
    expect(await axeViolations(page, '[data-testid="contacts-admin"]')).toEqual([]);
    await context.close();
  });

  it("shows the operator the call list first in the alarm panel, logs a call, and the call is in the timeline and the history", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"));
    await expect
      .poll(() => page.getByTestId("live-status").getAttribute("data-status"), { timeout: 10_000 })
      .toBe("connected");
    await person.alarm("sos", OSLO.lat, OSLO.lon);
    const card = page
      .locator('[data-testid="alarm-card"][data-state="open"]')
      .filter({ hasText: person.name });
    await card.click();
    const detail = page.getByTestId("alarm-detail");
    const calls = detail.getByTestId("call-list");
    await calls.getByText("Siri Ringeliste").waitFor();
    // First in the panel, before notes and position.
    expect(await detail.evaluate((el) => (el.firstElementChild as HTMLElement | null)?.dataset.testid)).toBe(
      "call-list",
    );
    const entries = calls.getByTestId("call-contact");
    expect(await entries.count()).toBe(2);
    expect(await entries.nth(0).textContent()).toContain("Siri Ringeliste · Pårørende · +4791345678");
    expect(await entries.nth(1).textContent()).toContain("Nils Nabo · Nabo · +4741234567");
    expect(await entries.nth(0).getByRole("link", { name: "Siri Ringeliste" }).getAttribute("href")).toBe(
      "tel:+4791345678",
    );

    await calls.getByRole("button", { name: "Logg en samtale med Siri Ringeliste" }).click();
    await calls.getByLabel("Hvordan gikk det?").selectOption("no_answer");
    await calls.getByLabel("Merknad (valgfritt)").fill("Ringer igjen om fem minutter");
    await calls.getByRole("button", { name: "Logg samtalen" }).click();
    await detail.locator("summary", { hasText: "Historikk" }).click();
    const line = `Oppringning Siri Ringeliste (+4791345678) – Ikke svar · Oda Operatør: Ringer igjen om fem minutter`;
    await detail.locator("ol.transitions").getByText(line).waitFor();
    await calls.getByRole("button", { name: "Logg en samtale med Nils Nabo" }).click();
    await calls.getByLabel("Hvordan gikk det?").selectOption("reached");
    await calls.getByRole("button", { name: "Logg samtalen" }).click();
    await detail
      .locator("ol.transitions")
      .getByText("Oppringning Nils Nabo (+4741234567) – Fikk svar · Oda Operatør")
      .waitFor();
    expect(await axeViolations(page, '[data-testid="alarm-detail"]')).toEqual([]);
    await detail.screenshot({ path: join(RESULTS_DIR, "call-list-panel.png") });
    await keepPicture("call-list-panel", PANEL_PNG);

    // Closed, it is on the history screen with the calls in its timeline.
    const id = await card.getAttribute("data-alarm-id");
    await admin.call("POST", `/alarms/${id}/take`, z.unknown(), {});
    await admin.call("POST", `/alarms/${id}/resolve`, z.unknown(), {
      outcome: "resolved_by_phone",
      note: "Naboen så til henne.",
    });
    await page.getByRole("link", { name: "Alarmhistorikk" }).click();
    const row = page.getByTestId("history-table").locator(`[data-alarm-id="${id}"]`);
    await row.getByRole("button", { name: "Tidslinje" }).click();
    const tl = page.getByTestId("history-timeline");
    await tl.getByText(/Oppringning Siri Ringeliste \(\+4791345678\) – Ikke svar · Oda Operatør/).waitFor();
    await tl.getByText(/Oppringning Nils Nabo \(\+4741234567\) – Fikk svar/).waitFor();
    expect(await axeViolations(page, '[data-testid="history"]')).toEqual([]);
    await screenshot(page, "call-list-history");
    await keepPicture("call-list-history", HISTORY_PNG);
    // Every look at the call list was logged, and each call: by Oda, about this recipient.
    const log = async (action: string) =>
      (
        await admin.call(
          "GET",
          `/activity?recipientId=${person.recipientId}&action=${action}`,
          z.array(activityEntry),
        )
      ).filter((e) => e.actorId === odaId);
    expect((await log("contacts.viewed")).length).toBeGreaterThanOrEqual(1);
    expect((await log("alarm.called")).length).toBe(2);
    await context.close();
  });

  it("keeps each user's own phone and alarm sound on the server from 'my profile'", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"));
    await page.getByRole("link", { name: "Min profil" }).click();
    const form = page.getByTestId("profile-page");
    const phone = form.getByLabel("Mitt telefonnummer (for SMS-varsler)");
    await phone.fill("12");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form
      .getByRole("alert")
      .getByText(/^Skriv et telefonnummer som kan ringes/)
      .waitFor();
    expect(await phone.getAttribute("aria-invalid")).toBe("true");
    await phone.fill("913 45 679");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByRole("status").getByText("Lagret.").waitFor();
    expect(await phone.inputValue()).toBe("+4791345679");
    await form.getByLabel("Gjenta hvert").selectOption("30");
    await expect.poll(() => form.getByLabel("Gjenta hvert").inputValue()).toBe("30");
    const own = await apiSession(h.url, demoEmail("nord.operator"));
    await expect
      .poll(async () => (await own.call("GET", "/auth/profile", profile)).sound?.repeatS, { timeout: 10_000 })
      .toBe(30);
    expect((await own.call("GET", "/auth/profile", profile)).phone).toBe("+4791345679");
    expect(await axeViolations(page, '[data-testid="profile-page"]')).toEqual([]);
    await context.close();

    // Another browser (no local copy) gets the same sound from the server.
    const other = await newAuditPage(h);
    await logIn(h, other.page, demoEmail("nord.operator"));
    await other.page.getByTestId("sound-settings").locator("summary").click();
    await expect
      .poll(() => other.page.locator('select[name="sound-repeat"]').inputValue(), { timeout: 10_000 })
      .toBe("30");
    await other.context.close();
  });

  it("lets an administrator set a staff member's phone, validated the same way", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/users");
    const field = page.getByLabel(`Telefon: ${demoEmail("nord.operator")}`);
    await field.fill("+47 00");
    await field.blur();
    await page.locator('p[role="status"]').filter({ hasText: /\S/ }).waitFor();
    const own = await apiSession(h.url, demoEmail("nord.operator"));
    expect((await own.call("GET", "/auth/profile", profile)).phone).toBe("+4791345679");
    await field.fill("913 45 680");
    await field.blur();
    await expect
      .poll(async () => (await own.call("GET", "/auth/profile", profile)).phone, { timeout: 10_000 })
      .toBe("+4791345680");
    await expect
      .poll(() => page.getByLabel(`Telefon: ${demoEmail("nord.operator")}`).inputValue())
      .toBe("+4791345680");
    await context.close();
  });

  it("lets an administrator change a contact and remove one, both stored (a reload shows them)", async () => {
    const kari = await admin.call("POST", `/recipients/${person.recipientId}/contacts`, recipientContact, {
      name: "Kari Kollega",
      relation: "other",
      phone: "+47 922 11 333",
      notes: "",
      availability: "",
    });
    const stored = () =>
      admin.call("GET", `/recipients/${person.recipientId}/contacts`, z.array(recipientContact));
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), `/recipients/${person.recipientId}`);
    const section = page.getByTestId("contacts-admin");
    const item = (name: string) => section.locator("li").filter({ hasText: name });
    await item("Kari Kollega").getByRole("button", { name: "Endre" }).click();
    // The form holds the contact being changed.
    expect(await section.getByLabel("Navn", { exact: true }).inputValue()).toBe("Kari Kollega");
    await section.getByLabel("Navn", { exact: true }).fill("Kari Kollega-Hansen");
    await section.getByLabel("Relasjon").selectOption("neighbour");
    await section.getByLabel("Telefon", { exact: true }).fill("922 11 444");
    await section.getByLabel("Når de kan ringes").fill("Etter kl. 16");
    await section.getByRole("button", { name: "Lagre", exact: true }).click();
    await item("Kari Kollega-Hansen").getByText("+4792211444").waitFor();
    // Saved, the form is empty again for the next one.
    await section.getByRole("button", { name: "Legg til på ringelisten" }).waitFor();
    expect(await section.getByLabel("Navn", { exact: true }).inputValue()).toBe("");

    await page.reload();
    await item("Kari Kollega-Hansen").waitFor();
    expect(await item("Kari Kollega-Hansen").textContent()).toContain(
      "Kari Kollega-Hansen · Nabo · +4792211444 · når: Etter kl. 16",
    );
    expect((await stored()).find((c) => c.id === kari.id)).toMatchObject({
      name: "Kari Kollega-Hansen",
      relation: "neighbour",
      phone: "+4792211444",
      availability: "Etter kl. 16",
    });

    const before = (await stored()).length;
    // Asked once more; "No" keeps her.
    await item("Kari Kollega-Hansen").getByRole("button", { name: "Fjern" }).click();
    await item("Kari Kollega-Hansen").getByText("Fjerne Kari Kollega-Hansen fra ringelisten?").waitFor();
    expect(await axeViolations(page, '[data-testid="contacts-admin"]')).toEqual([]);
    await item("Kari Kollega-Hansen").getByRole("button", { name: "Nei, behold" }).click();
    expect((await stored()).length).toBe(before);
    await item("Kari Kollega-Hansen").getByRole("button", { name: "Fjern" }).click();
    await item("Kari Kollega-Hansen").getByRole("button", { name: "Ja, fjern" }).click();
    await item("Kari Kollega-Hansen").waitFor({ state: "detached" });
    await page.reload();
    await section.getByText("Siri Ringeliste").waitFor();
    expect(await item("Kari Kollega-Hansen").count()).toBe(0);
    const after = await stored();
    expect(after.length).toBe(before - 1);
    expect(after.some((c) => c.id === kari.id)).toBe(false);
    expect(after.map((c) => c.name)).toContain("Siri Ringeliste");
    expect(await axeViolations(page, '[data-testid="contacts-admin"]')).toEqual([]);
    await context.close();
  });
});
