/**
 * Reopening a closed alarm in Chromium against the whole stack: an operator finds a resolved alarm
 * on the history screen, is asked first and must give a reason, reopens it, and it is open again
 * (out of the history, in the queue, in the API) and its panel takes a comment (a note required,
 * said under the field); roles without alarm:acknowledge (which the
 * reopen route is guarded by) get no reopen button, and the API refuses them anyway.
 */
import { alarmDetail, alarmList, department, meResponse } from "@vakt/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApiSession,
  apiSession,
  axeViolations,
  demoEmail,
  eventually,
  type Harness,
  logIn,
  newAuditPage,
  recipientWithDevice,
  startHarness,
  type TestDevice,
} from "./harness";

const OSLO = { lat: 59.9139, lon: 10.7522 };

describe("reopening a closed alarm", () => {
  let h: Harness;
  let admin: ApiSession;
  let person: TestDevice;

  /** Raises an alarm on the device and closes it through the API: answers its id. */
  async function closedAlarm(): Promise<string> {
    // The new one, not an alarm of this person still open from an earlier test (one reopened there).
    const openIds = async () =>
      (await admin.call("GET", `/alarms?state=open&recipientId=${person.recipientId}`, alarmList)).items.map(
        (a) => a.id,
      );
    const before = new Set(await openIds());
    await person.alarm("sos", OSLO.lat, OSLO.lon);
    const id = await eventually(
      async () => (await openIds()).find((a) => !before.has(a)),
      "the alarm reached the API",
    );
    await admin.call("POST", `/alarms/${id}/take`, z.unknown(), {});
    await admin.call("POST", `/alarms/${id}/resolve`, z.unknown(), {
      outcome: "no_help_needed",
      note: "Trykket ved et uhell.",
    });
    return id;
  }

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const zone1 = departments.find((x) => x.name === "Sone 1")?.id;
    if (!zone1) throw new Error("no Sone 1");
    person = await recipientWithDevice(h, admin, zone1, "Gunnar", "Gjenåpnet");
    await person.position(OSLO.lat, OSLO.lon);
  });

  afterAll(async () => {
    await person?.client.endAsync();
    await h?.stop();
  });

  it("lets an operator reopen a resolved alarm from the history, with a reason, and it is open again", async () => {
    const id = await closedAlarm();
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"), "/history");
    const row = page.getByTestId("history-table").locator(`[data-alarm-id="${id}"]`);
    await row.getByRole("button", { name: "Tidslinje" }).click();
    await page
      .getByTestId("history-timeline")
      .getByText(/Avsluttet/)
      .waitFor();
    await page.getByRole("button", { name: "Gjenåpne alarmen fra Gunnar Gjenåpnet" }).click();
    const form = page.getByTestId("reopen-alarm");
    await form.getByText("Gjenåpne alarmen fra Gunnar Gjenåpnet?").waitFor();
    const reason = form.getByLabel("Hvorfor gjenåpnes den? (påkrevd)");
    // Asked first, and focused there; no reason, no reopening.
    expect(await reason.evaluate((el) => el === document.activeElement)).toBe(true);
    await reason.fill("   ");
    await form.getByRole("button", { name: "Gjenåpne alarmen" }).click();
    await form.getByRole("alert").getByText("Skriv hvorfor alarmen gjenåpnes.").waitFor();
    expect(await reason.getAttribute("aria-invalid")).toBe("true");
    const described = await reason.getAttribute("aria-describedby");
    expect(await page.locator(`[id="${described}"]`).textContent()).toBe("Skriv hvorfor alarmen gjenåpnes.");
    expect(await axeViolations(page, '[data-testid="reopen-alarm"]')).toEqual([]);
    let detail = await admin.call("GET", `/alarms/${id}`, alarmDetail);
    expect(detail.state).toBe("resolved");

    await reason.fill("Hun ringte tilbake og trenger hjelp likevel.");
    await form.getByRole("button", { name: "Gjenåpne alarmen" }).click();
    await page
      .getByTestId("history-reopened")
      .getByText("Alarmen fra Gunnar Gjenåpnet er åpen igjen og tilbake i alarmkøen.")
      .waitFor();
    // No longer closed: out of the history, open in the queue, open in the API with the reason.
    await row.waitFor({ state: "detached" });
    detail = await admin.call("GET", `/alarms/${id}`, alarmDetail);
    expect(detail.state).toBe("open");
    expect(detail.transitions.at(-1)).toMatchObject({
      kind: "reopened",
      note: "Hun ringte tilbake og trenger hjelp likevel.",
    });
    await page.getByRole("link", { name: "Live-kart" }).click();
    const card = page.locator(`[data-testid="alarm-card"][data-alarm-id="${id}"][data-state="open"]`);
    await card.click();
    // In the panel again: a comment needs a note, said under the note field.
    const panel = page.getByTestId("alarm-detail");
    await panel.getByRole("button", { name: "Kommenter" }).click();
    const note = panel.getByLabel("Notat");
    await panel.getByRole("alert").getByText("Skriv notatet som skal legges til.").waitFor();
    expect(await note.getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page, '[data-testid="alarm-detail"]')).toEqual([]);
    await note.fill("Ringer henne nå.");
    await panel.getByRole("button", { name: "Kommenter" }).click();
    await panel.locator("summary", { hasText: "Historikk" }).click();
    await panel
      .locator("ol.transitions")
      .getByText(/Gjenåpnet · Oda Operatør: Hun ringte tilbake/)
      .waitFor();
    await panel
      .locator("ol.transitions")
      .getByText(/Kommentar · Oda Operatør: Ringer henne nå\./)
      .waitFor();
    expect(await note.inputValue()).toBe("");
    expect(await note.getAttribute("aria-invalid")).toBeNull();
    await context.close();
  });

  it("shows no reopen button to roles without alarm:acknowledge, which the API refuses", async () => {
    const id = await closedAlarm();
    for (const key of ["nord.admin", "auditor"]) {
      const session = await apiSession(h.url, demoEmail(key));
      const me = await session.call("GET", "/auth/me", meResponse);
      expect(me.permissions).not.toContain("alarm:acknowledge");
      await expect(
        session.call("POST", `/alarms/${id}/reopen`, z.unknown(), { note: "Prøver likevel" }),
      ).rejects.toThrow(/: 403 /);
      const { context, page } = await newAuditPage(h);
      await logIn(h, page, demoEmail(key), "/history");
      await page.getByTestId("history").waitFor();
      expect(await page.getByRole("button", { name: /Gjenåpne/ }).count()).toBe(0);
      await context.close();
    }
    // No seeded role reads alarms without acting on them: a session that did (the operator's, with
    // alarm:acknowledge taken out of what /auth/me says) sees the closed alarm and no reopen button.
    const { context, page } = await newAuditPage(h);
    await page.route("**/api/v1/auth/me", async (route) => {
      const res = await route.fetch();
      // Before the login it answers 401: passed on as it is.
      if (!res.ok()) return route.fulfill({ response: res });
      const me = meResponse.parse(await res.json());
      await route.fulfill({
        response: res,
        json: { ...me, permissions: me.permissions.filter((p) => p !== "alarm:acknowledge") },
      });
    });
    await logIn(h, page, demoEmail("nord.operator"), "/history");
    const row = page.getByTestId("history-table").locator(`[data-alarm-id="${id}"]`);
    await row.getByRole("button", { name: "Tidslinje" }).click();
    await page
      .getByTestId("history-timeline")
      .getByText(/Avsluttet/)
      .waitFor();
    expect(await page.getByRole("button", { name: /Gjenåpne/ }).count()).toBe(0);
    expect((await admin.call("GET", `/alarms/${id}`, alarmDetail)).state).toBe("resolved");
    await context.close();
  });
});
