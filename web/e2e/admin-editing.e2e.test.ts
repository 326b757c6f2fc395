/**
 * The administration screens' changes in Chromium, in Norwegian, each checked through the API
 * afterwards: a routing rule edited in the form that creates one (a step's delay and a weekday),
 * a channel changed and removed, a department closed (and a refusal said in words), a closed
 * department offered nowhere for something new, retention: the job's past runs and a period
 * refused in words, then saved, and a device's desired configuration on the recipient's page (a
 * value out of range refused under its field). Each screen passes axe's WCAG A/AA audit.
 */
import {
  alertEndpoint,
  alertEndpointCreated,
  alertRule,
  department,
  device,
  deviceCredentials,
  organisation,
  recipient,
  retentionSettingsView,
  staffUserCreated,
} from "@vakt/schemas";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { formatDateTime } from "../src/format/time";
import {
  type ApiSession,
  apiSession,
  axeViolations,
  demoEmail,
  type Harness,
  logIn,
  newAuditPage,
  screenshot,
  startHarness,
} from "./harness";

describe("editing in the administration", () => {
  let h: Harness;
  let admin: ApiSession;
  let zone1: string;

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const d = departments.find((x) => x.name === "Sone 1");
    if (!d) throw new Error("no Sone 1");
    zone1 = d.id;
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  it("edits a routing rule in the form that creates one: a step's delay and a weekday", async () => {
    const created = await admin.call("POST", "/alert-rules", alertRule, {
      name: "Helg og natt",
      departmentId: zone1,
      alarmTypes: ["sos"],
      schedule: [{ days: [1, 2, 3, 4, 5], start: "22:00", end: "07:00" }],
      steps: [{ waitS: 120, roles: ["operator"], channels: ["console"] }],
    });
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/routing");
    await page.getByRole("button", { name: "Endre Helg og natt" }).click();
    const form = page.getByRole("form", { name: "Endre regel" });
    await form.getByRole("heading", { name: "Endre regelen «Helg og natt»" }).waitFor();
    // The form is below the list: opening a rule moves the keyboard there.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe("Endre regelen «Helg og natt»");
    expect(await form.getByLabel("Navn", { exact: true }).inputValue()).toBe("Helg og natt");
    expect(await form.getByLabel("SOS").isChecked()).toBe(true);
    const window = form.getByTestId("schedule-window").first();
    expect(await window.getByLabel("fredag").isChecked()).toBe(true);
    expect(await window.getByLabel("lørdag").isChecked()).toBe(false);
    expect(await axeViolations(page, 'form[aria-label="Endre regel"]')).toEqual([]);

    // A delay the API would refuse is refused in words first.
    const delay = form.getByTestId("rule-step").first().getByLabel("Eskaler etter (s)");
    await delay.fill("0");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form
      .getByText("Hvert trinn venter et helt antall sekunder, fra 1 til 86 400 (ett døgn).")
      .waitFor();
    await delay.fill("300");
    await window.getByLabel("lørdag").check();
    await form.getByLabel("Høy", { exact: true }).check();
    await form.getByRole("button", { name: "Lagre" }).click();
    await page.locator('p[role="status"]').getByText("Lagret").waitFor();
    await page.getByRole("form", { name: "Ny regel" }).waitFor();

    const stored = await admin.call("GET", `/alert-rules/${created.id}`, alertRule);
    expect(stored.steps[0]?.waitS).toBe(300);
    expect(stored.schedule?.[0]?.days).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stored.severities).toEqual(["high"]);
    expect(stored.alarmTypes).toEqual(["sos"]);
    expect(stored.departmentId).toBe(zone1);
    await screenshot(page, "admin-rule-edited");
    await context.close();
  });

  it("changes a channel (a wrong target refused in words) and removes it after asking", async () => {
    const ep = await admin.call("POST", "/alert-endpoints", alertEndpointCreated, {
      departmentId: zone1,
      name: "Vaktrom e-post",
      kind: "email",
      target: "vaktrom@kommune.no",
    });
    await admin.call("POST", "/alert-rules", alertRule, {
      name: "Til vaktrommet",
      departmentId: zone1,
      steps: [{ waitS: 60, roles: ["operator"], endpointIds: [ep.id] }],
    });
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/channels");
    await page.getByRole("button", { name: "Endre Vaktrom e-post" }).click();
    const form = page.getByRole("form", { name: "Endre kanalen «Vaktrom e-post»" });
    const target = form.getByLabel("Mottaker");
    await target.fill("vaktrom");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByText("Skriv en hel e-postadresse, for eksempel navn@eksempel.no.").waitFor();
    expect(await target.getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page, '[data-testid="channel-form"]')).toEqual([]);
    await target.fill("natt@kommune.no");
    await form.getByLabel("I bruk (regler varsler gjennom den)").uncheck();
    await form.getByRole("button", { name: "Lagre" }).click();
    const row = page.getByTestId("channel-row").filter({ hasText: "Vaktrom e-post" });
    await row.getByText("natt@kommune.no").waitFor();
    await row.getByText("Ikke i bruk").waitFor();
    const changed = (await admin.call("GET", "/alert-endpoints", z.array(alertEndpoint))).find(
      (e) => e.id === ep.id,
    );
    expect(changed).toMatchObject({ target: "natt@kommune.no", enabled: false, kind: "email" });

    await row.getByRole("button", { name: "Slett Vaktrom e-post" }).click();
    const ask = row.getByTestId("delete-channel");
    await ask.getByText("Fjerne kanalen «Vaktrom e-post»?").waitFor();
    await ask
      .getByText("Disse reglene nevner den og slutter å varsle gjennom den: Til vaktrommet.")
      .waitFor();
    expect(await axeViolations(page, '[data-testid="channels-table"]')).toEqual([]);
    await ask.getByRole("button", { name: "Ja, fjern den" }).click();
    await expect.poll(() => row.count()).toBe(0);
    const left = await admin.call("GET", "/alert-endpoints", z.array(alertEndpoint));
    expect(left.some((e) => e.id === ep.id)).toBe(false);
    await screenshot(page, "admin-channel-removed");
    await context.close();
  });

  it("closes an empty department after asking, and says why one with recipients cannot be closed", async () => {
    const empty = await admin.call("POST", "/departments", department, { name: "Sone Tom", parentId: zone1 });
    await admin.call("POST", "/departments", department, { name: "Sone Tom B", parentId: empty.id });
    const recipients = await admin.call("GET", "/recipients", z.array(recipient));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const busyId = recipients.find((r) => r.status === "active")?.departmentId;
    const busy = departments.find((d) => d.id === busyId);
    if (!busy) throw new Error("no department with an active recipient");

    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/departments");
    const tree = page.getByTestId("department-tree");
    const busyItem = tree
      .getByTestId("department")
      .filter({ has: page.getByLabel(`Navn: ${busy.name}`, { exact: true }) });
    await busyItem.getByRole("button", { name: `Legg ned ${busy.name}`, exact: true }).click();
    await busyItem.getByRole("button", { name: "Ja, legg den ned" }).click();
    await busyItem.getByRole("alert").getByText(`«${busy.name}» kan ikke legges ned ennå`).waitFor();
    expect(await axeViolations(page, '[data-testid="department-tree"]')).toEqual([]);
    await busyItem.getByRole("button", { name: "Avbryt" }).click();

    const item = tree
      .getByTestId("department")
      .filter({ has: page.getByLabel("Navn: Sone Tom", { exact: true }) });
    await item.getByRole("button", { name: "Legg ned Sone Tom", exact: true }).click();
    await item.getByText("Legge ned «Sone Tom» og alle underavdelingene?").waitFor();
    await item.getByRole("button", { name: "Ja, legg den ned" }).click();
    await item.getByText("(lagt ned)").waitFor();
    await tree
      .getByTestId("department")
      .filter({ has: page.getByLabel("Navn: Sone Tom B", { exact: true }) })
      .getByText("(lagt ned)")
      .waitFor();
    const after = await admin.call("GET", "/departments", z.array(department));
    expect(after.find((d) => d.id === empty.id)?.closedAt).not.toBeNull();
    expect(after.find((d) => d.parentId === empty.id)?.closedAt).not.toBeNull();
    expect(after.find((d) => d.id === busy.id)?.closedAt).toBeNull();
    await screenshot(page, "admin-department-closed");
    await context.close();
  });

  it("offers no closed department for a new user, device or recipient, and shows an old grant in one as closed", async () => {
    const closed = await admin.call("POST", "/departments", department, {
      name: "Sone Lukket",
      parentId: zone1,
    });
    const email = `lukket.${Date.now()}@demo.vakt.local`;
    await admin.call("POST", "/users", staffUserCreated, {
      email,
      firstName: "Lise",
      lastName: "Lukket",
      grants: [{ role: "operator", departmentId: closed.id }],
    });
    await admin.call("POST", `/departments/${closed.id}/close`, department);
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/users");
    const offered = (form: Locator) =>
      form
        .getByLabel("Avdeling", { exact: true })
        .locator("option")
        .evaluateAll((os) => os.map((o) => o.textContent?.trim()));

    const invite = page.getByRole("form", { name: "Inviter" });
    await expect.poll(() => offered(invite), { timeout: 15_000 }).toContain("Sone 1");
    expect(await offered(invite)).not.toContain("Sone Lukket");
    const row = page.locator("tr", { hasText: email });
    await row.getByText("Operatør: Sone Lukket (lagt ned)").waitFor();
    // A refused address is said beside its field, in words, before anything is sent.
    const address = invite.getByLabel("E-post");
    await address.fill("lise");
    await invite.getByRole("button", { name: "Inviter" }).click();
    await invite.getByText("Skriv en hel e-postadresse, for eksempel navn@eksempel.no.").waitFor();
    expect(await address.getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page, 'form[aria-label="Inviter"]')).toEqual([]);

    await page.goto(`${h.url}/admin/devices`);
    const provision = page.getByRole("form", { name: "Registrer enhet" });
    await expect.poll(() => offered(provision), { timeout: 15_000 }).toContain("Sone 1");
    expect(await offered(provision)).not.toContain("Sone Lukket");

    await page.goto(`${h.url}/admin/recipients`);
    const register = page.getByRole("form", { name: "Ny tjenestemottaker" });
    await expect.poll(() => offered(register), { timeout: 15_000 }).toContain("Sone 1");
    expect(await offered(register)).not.toContain("Sone Lukket");
    expect(await axeViolations(page, 'form[aria-label="Ny tjenestemottaker"]')).toEqual([]);
    await context.close();
  });

  it("shows the retention job's past runs: when, how it went and what it removed", async () => {
    const org = await admin.call("GET", "/organisation", organisation);
    const startedAt = new Date("2026-11-30T01:15:00Z");
    const { rows } = await h.db.pool.query<{ id: string }>(
      `INSERT INTO retention_runs (as_of, started_at, finished_at, status, trigger)
       VALUES ($1, $1, $2, 'succeeded', 'schedule') RETURNING id`,
      [startedAt, new Date(startedAt.getTime() + 42_000)],
    );
    const runId = rows[0]?.id;
    for (const [category, n] of [
      ["positions", 1234],
      ["recipientsErased", 1],
      ["deadLetters", 0],
    ] as const)
      await h.db.pool.query(
        "INSERT INTO retention_run_counts (run_id, organisation_id, category, rows) VALUES ($1, $2, $3, $4)",
        [runId, org.id, category, n],
      );
    await h.db.pool.query(
      "INSERT INTO retention_runs (as_of, status, trigger) VALUES (now(), 'failed', 'manual')",
    );
    const nothingDue = new Date("2026-11-29T01:15:00Z");
    await h.db.pool.query(
      `INSERT INTO retention_runs (as_of, started_at, finished_at, status, trigger)
       VALUES ($1, $1, $1, 'succeeded', 'schedule')`,
      [nothingDue],
    );

    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/retention");
    const runs = page.getByTestId("retention-runs");
    await runs.getByRole("heading", { name: "Slettekjøringer" }).waitFor();
    const run = runs
      .getByTestId("retention-run")
      .filter({ hasText: formatDateTime(startedAt, org.timeZone, "nb") });
    await run.getByText("Den nattlige planen").waitFor();
    await run.getByText("Fullført").waitFor();
    await run.getByText("1\u00a0234 posisjoner").waitFor();
    await run.getByText("1 tjenestemottaker slettet").waitFor();
    expect(await run.getByText("avviste meldinger").count()).toBe(0);
    const failed = runs.getByTestId("retention-run").filter({ hasText: "Feilet" });
    await failed.getByText("Manuelt").waitFor();
    expect(await failed.getByText("Ingenting var klart for sletting").count()).toBe(0);
    await runs
      .getByTestId("retention-run")
      .filter({ hasText: formatDateTime(nothingDue, org.timeZone, "nb") })
      .getByText("Ingenting var klart for sletting")
      .waitFor();
    expect(await axeViolations(page, '[data-testid="retention-runs"]')).toEqual([]);
    await screenshot(page, "admin-retention-runs");

    // The settings: a period below the legal floor is refused beside its field, with the range.
    const settings = page.getByTestId("retention-settings");
    const activityLog = settings.getByLabel("Aktivitetslogg lagres (dager)");
    await activityLog.fill("100");
    await settings.getByRole("button", { name: "Lagre" }).click();
    await settings.getByText("Et helt antall dager, fra 730 til 3653.").waitFor();
    expect(await activityLog.getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page, '[data-testid="retention-settings"]')).toEqual([]);
    await activityLog.fill("1000");
    await settings.getByRole("button", { name: "Lagre" }).click();
    await settings.locator('p[role="status"]').getByText("Lagret").waitFor();
    const stored = await admin.call("GET", "/privacy/retention", retentionSettingsView);
    expect(stored.activityLogDays).toBe(1000);
    await context.close();
  });

  it("changes a device's desired configuration on the recipient's page, a value out of range said under it", async () => {
    const r = await admin.call("POST", "/recipients", recipient, {
      departmentId: zone1,
      firstName: "Dag",
      lastName: "Innstilling",
      legalBasis: "consent",
    });
    const serial = `E2E-CFG-${Date.now().toString(36)}`;
    const creds = await admin.call("POST", "/devices", deviceCredentials, { departmentId: zone1, serial });
    await admin.call("PUT", `/devices/${creds.device.id}/recipient`, z.unknown(), { recipientId: r.id });
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), `/recipients/${r.id}`);
    const form = page.getByRole("form", { name: `Enhet ${serial}` });
    const interval = form.getByLabel("Rapporteringsintervall (s)");
    await interval.fill("5");
    await form.getByLabel("Alarmnummer").fill("+4712345678");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByRole("alert").getByText("Hele sekunder fra 10 til 86400.").waitFor();
    expect(await interval.getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page, `form[aria-label="Enhet ${serial}"]`)).toEqual([]);
    const before = await admin.call("GET", `/devices/${creds.device.id}`, device);
    expect(before.desiredConfig.reportIntervalS).not.toBe(5);
    await interval.fill("300");
    await form.getByRole("button", { name: "Lagre" }).click();
    await form.getByRole("status").getByText("Lagret").waitFor();
    expect(await interval.getAttribute("aria-invalid")).toBeNull();
    const after = await admin.call("GET", `/devices/${creds.device.id}`, device);
    expect(after.desiredConfig).toMatchObject({ reportIntervalS: 300, alarmNumber: "+4712345678" });
    expect(after.desiredConfigVersion).toBeGreaterThan(before.desiredConfigVersion);
    await context.close();
  });
});
