/**
 * The recipient's privacy actions in a real browser: the JSON export saved as
 * a download, editing the recipient's details, restricting processing (after
 * the warning about alarms), reading the restricted recipient with a reason,
 * lifting it from the administration's list, and erasure behind a typed confirmation.
 */
import { readFile } from "node:fs/promises";
import { department, recipient, restrictedRecipient } from "@vakt/schemas";
import type { Page } from "playwright-core";
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
  recipientWithDevice,
  screenshot,
  startHarness,
  type TestDevice,
} from "./harness";

describe("the recipient's privacy actions", () => {
  let h: Harness;
  let admin: ApiSession;
  let kept: TestDevice;
  let erased: TestDevice;
  let page: Page;

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const zone = departments.find((d) => d.name === "Sone 1");
    if (!zone) throw new Error("no department Sone 1");
    kept = await recipientWithDevice(h, admin, zone.id, "Reidun", "Rustad");
    erased = await recipientWithDevice(h, admin, zone.id, "Embla", "Eriksen");
    await kept.position(59.9139, 10.7522);
    ({ page } = await newAuditPage(h));
    await logIn(h, page, demoEmail("admin"), `/recipients/${kept.recipientId}`);
  });

  afterAll(async () => {
    await kept?.client.endAsync();
    await erased?.client.endAsync();
    await h?.stop();
  });

  it("downloads everything stored about the recipient as JSON", async () => {
    const section = page.getByTestId("privacy-section");
    await section.getByRole("heading", { name: "Personvern" }).waitFor();
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "privacy-01-section");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      section.getByRole("button", { name: "Last ned JSON" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(
      new RegExp(`^vakt-recipient-${kept.recipientId}-.*\\.json$`),
    );
    const path = await download.path();
    const data = JSON.parse(await readFile(path, "utf8"));
    expect(data.format).toBe("vakt.recipient-export");
    expect(data.recipient.id).toBe(kept.recipientId);
    expect(`${data.recipient.firstName} ${data.recipient.lastName}`).toBe(kept.name);
    await section.getByText(/Eksporten er lastet ned/).waitFor();
  });

  it("lists the zones the recipient's tracker reported leaving and entering, in words", async () => {
    const { rows } = await h.db.pool.query<{ id: string; organisation_id: string; department_id: string }>(
      "SELECT id, organisation_id, department_id FROM devices WHERE recipient_id = $1",
      [kept.recipientId],
    );
    const dev = rows[0];
    if (!dev) throw new Error("no device");
    await h.db.pool.query(
      `INSERT INTO device_transitions (device_id, organisation_id, recipient_id, department_id, message_id, event,
         region_desc, trigger, time, lat, lon, accuracy_m)
       VALUES ($1, $2, $3, $4, 'ot-transition-e2e', 'leave', 'Hjemme', 'c', now() - interval '5 minutes',
         59.9139, 10.7522, 10)`,
      [dev.id, dev.organisation_id, kept.recipientId, dev.department_id],
    );
    await page.reload();
    const list = page.getByTestId("transitions");
    await list.getByText(/^Forlot «Hjemme» /).waitFor();
    expect(await list.textContent()).not.toMatch(/leave|undefined|Invalid Date/);
    expect(await axeViolations(page, '[data-testid="transitions"]')).toEqual([]);
  });

  it("changes the recipient's details from the page, refusing a missing name in words", async () => {
    const edit = page.getByRole("button", { name: "Endre opplysninger" });
    await edit.click();
    const form = page.getByTestId("recipient-edit");
    await form.getByRole("heading", { name: `Endre opplysningene om ${kept.name}` }).waitFor();
    await form.getByLabel("Fornavn").fill(" ");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByText("Skriv et fornavn (høyst 100 tegn).").waitFor();
    expect(await axeViolations(page, '[data-testid="recipient-edit"]')).toEqual([]);
    await form.getByLabel("Fornavn").fill("Reidun");
    await form.getByLabel("Født").fill("1938-04-02");
    await form.getByLabel("Referanse (saks- eller vedtaksnummer)").fill("Vedtak 2026/114");
    await form.getByLabel("Notater til de som rykker ut").fill("Nøkkel i postkassen. Hører dårlig.");
    await form.getByRole("button", { name: "Lagre" }).click();
    await page.getByText("Opplysningene er lagret.").waitFor();
    await page.getByTestId("recipient-facts").getByText("Nøkkel i postkassen. Hører dårlig.").waitFor();
    const stored = await admin.call("GET", `/recipients/${kept.recipientId}`, recipient);
    expect(stored).toMatchObject({
      firstName: "Reidun",
      lastName: "Rustad",
      birthDate: "1938-04-02",
      legalBasisReference: "Vedtak 2026/114",
      responderNotes: "Nøkkel i postkassen. Hører dårlig.",
      status: "active",
    });
    const { rows } = await h.db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM activity_log WHERE action = 'recipient.updated' AND subject_id = $1",
      [kept.recipientId],
    );
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it("restricts processing after the warning, and the recipient leaves ordinary views", async () => {
    const card = page.getByTestId("privacy-restrict");
    await expect(card.getByTestId("restrict-warning").isVisible()).resolves.toBe(true);
    expect(await card.getByTestId("restrict-warning").textContent()).toMatch(/vitale interesser/);
    const submit = card.getByRole("button", { name: "Begrens behandlingen" });
    // No reason, no restriction: said under the field.
    await submit.click();
    await card.getByRole("alert").getByText("Skriv en begrunnelse på 3 til 500 tegn: den logges.").waitFor();
    expect(await card.getByLabel("Begrunnelse (logges)").getAttribute("aria-invalid")).toBe("true");
    expect(new URL(page.url()).pathname).toBe(`/recipients/${kept.recipientId}`);
    await card.getByLabel("Begrunnelse (logges)").fill("Tjenestemottakeren ba om begrensning");
    await submit.click();
    await page
      .getByTestId("flash")
      .getByText(/Behandlingen av Reidun Rustad er begrenset/)
      .waitFor();
    expect(new URL(page.url()).pathname).toBe("/");
    const visible = await admin.call("GET", "/recipients", z.array(recipient));
    expect(visible.some((r) => r.id === kept.recipientId)).toBe(false);
    const restricted = await admin.call("GET", "/privacy/restrictions", z.array(restrictedRecipient));
    expect(restricted.map((r) => r.id)).toContain(kept.recipientId);
  });

  it("lets an administrator read the restricted recipient by giving a reason, which is logged", async () => {
    await page.goto(`${h.url}/recipients/${kept.recipientId}`);
    const gate = page.getByTestId("recipient-unavailable");
    await gate
      .getByText(/begrenset/)
      .first()
      .waitFor();
    expect(await gate.getAttribute("data-kind")).toBe("restricted");
    const form = gate.getByTestId("restricted-read");
    await form.getByRole("button", { name: "Les opplysningene" }).click();
    await form.getByText("Skriv en begrunnelse på 3 til 500 tegn.").waitFor();
    const why = "Pårørende ba om innsyn i vedtaket";
    await form.getByLabel("Begrunnelse (logges)").fill(why);
    await form.getByRole("button", { name: "Les opplysningene" }).click();
    const result = gate.getByTestId("restricted-read-result");
    await result.getByRole("heading", { name: `Opplysninger om ${kept.name}` }).waitFor();
    await result.getByText("Nøkkel i postkassen. Hører dårlig.").waitFor();
    await result.getByText(/Begrenset siden/).waitFor();
    expect(await axeViolations(page, '[data-testid="recipient-unavailable"]')).toEqual([]);
    await screenshot(page, "privacy-02b-restricted-read");
    const { rows } = await h.db.pool.query<{ reason: string | null }>(
      "SELECT reason FROM activity_log WHERE action = 'recipient.viewed_with_reason' AND subject_id = $1",
      [kept.recipientId],
    );
    expect(rows.map((r) => r.reason)).toEqual([why]);
  });

  it("lifts the restriction from the administration's list with a reason", async () => {
    await page.goto(`${h.url}/admin/retention`);
    const row = page.getByTestId("restricted-recipient").filter({ hasText: kept.recipientId });
    await row.waitFor();
    await screenshot(page, "privacy-02-restrictions");
    // A reason too short to say anything is refused in words under the field; nothing is lifted.
    await row.getByLabel("Begrunnelse (logges)").fill("ok");
    await row.getByRole("button", { name: "Opphev begrensningen" }).click();
    await row.getByRole("alert").getByText("Skriv en begrunnelse på 3 til 500 tegn").waitFor();
    expect(await row.getByLabel("Begrunnelse (logges)").getAttribute("aria-invalid")).toBe("true");
    expect(await row.count()).toBe(1);
    await row.getByLabel("Begrunnelse (logges)").fill("Begrensningen er ikke lenger nødvendig");
    await row.getByRole("button", { name: "Opphev begrensningen" }).click();
    await page.getByTestId("restrictions").getByText("Begrensningen er opphevet").waitFor();
    await expect.poll(() => row.count()).toBe(0);
    const visible = await admin.call("GET", "/recipients", z.array(recipient));
    expect(visible.some((r) => r.id === kept.recipientId)).toBe(true);
  });

  it("erases a recipient only after the name is typed, and shows what was kept", async () => {
    await page.goto(`${h.url}/recipients/${erased.recipientId}`);
    const card = page.getByTestId("privacy-erase");
    const submit = card.getByRole("button", { name: "Slett for godt" });
    await card.getByLabel("Begrunnelse (logges)").fill("Tjenestemottakeren ba om sletting");
    await card.getByLabel(/Skriv tjenestemottakerens fulle navn/).fill("Embla");
    await submit.click();
    await card
      .getByRole("alert")
      .getByText(`Skriv hele navnet nøyaktig slik det står: ${erased.name}.`)
      .waitFor();
    expect(await card.getByLabel(/Skriv tjenestemottakerens fulle navn/).getAttribute("aria-invalid")).toBe(
      "true",
    );
    expect(await axeViolations(page, '[data-testid="privacy-erase"]')).toEqual([]);
    // Nothing was erased.
    await admin.call("GET", `/recipients/${erased.recipientId}`, recipient);
    await card.getByLabel(/Skriv tjenestemottakerens fulle navn/).fill(erased.name);
    await submit.click();
    const record = page.getByTestId("erasure-record");
    await record.getByText(erased.recipientId).waitFor();
    await record.scrollIntoViewIfNeeded();
    await screenshot(page, "privacy-03-erased");
    await expect(admin.call("GET", `/recipients/${erased.recipientId}`, recipient)).rejects.toThrow(/404/);
    await expect(
      admin.call("GET", `/privacy/recipients/${erased.recipientId}?reason=check%20erasure`, recipient),
    ).rejects.toThrow(/404/);
    await record.getByRole("button", { name: "Tilbake til live-kartet" }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe("/");
  });
});
