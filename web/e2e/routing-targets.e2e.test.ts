/**
 * Who a routing rule may alert, in Chromium against the whole stack: the
 * editor offers the roles and people the API's policy says can see and take
 * the department's alarms, and a save naming someone who cannot (their grant
 * changed behind the editor's back) is refused in words. And a staff phone
 * stored before numbers were checked is marked for correction on the users
 * screen, and fixed by the administrator's save.
 */
import { department, staffUser, staffUserCreated } from "@vakt/schemas";
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
  screenshot,
  startHarness,
} from "./harness";

describe("routing targets and staff phones", () => {
  let h: Harness;
  let admin: ApiSession;
  let zone1: string;
  const people: Record<string, { id: string; email: string }> = {};

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const d = departments.find((x) => x.name === "Sone 1");
    if (!d) throw new Error("no Sone 1");
    zone1 = d.id;
    for (const [key, firstName, role] of [
      ["pal", "Pål", "operator"],
      ["lars", "Lars", "locator"],
      ["dina", "Dina", "dept_admin"],
    ] as const) {
      const email = `${key}.${Date.now()}@demo.vakt.local`;
      const created = await admin.call("POST", "/users", staffUserCreated, {
        email,
        firstName,
        lastName: "Mål",
        grants: [{ role, departmentId: zone1 }],
      });
      people[key] = { id: created.user.id, email };
    }
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  it("offers only roles and people who can act, and words the refusal of someone who no longer can", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/routing");
    const form = page.getByRole("form", { name: "Ny regel" });
    await form.getByLabel("Navn", { exact: true }).fill("Natt: Pål");
    await form.locator('select[name="rule-department"]').selectOption({ label: "\u00a0\u00a0Sone 1" });
    const step = form.getByTestId("rule-step").first();
    const users = step.getByTestId("step-users");
    await users.getByLabel("Pål Mål").waitFor();
    await users.getByLabel("Oda Operatør").waitFor();
    // A locator and a department administrator cannot take alarms: not offered.
    expect(await users.getByLabel("Lars Mål").count()).toBe(0);
    expect(await users.getByLabel("Dina Mål").count()).toBe(0);
    const roles = await step.getByTestId("step-roles").locator("label").allTextContents();
    expect(roles.sort()).toEqual(["Operatør", "Organisasjonsadministrator"]);
    expect(await axeViolations(page, 'form[aria-label="Ny regel"]')).toEqual([]);

    await users.getByLabel("Pål Mål").check();
    // Behind the editor's back, Pål becomes a locator: he can no longer take alarms.
    const pal = people.pal as { id: string };
    await admin.call("PATCH", `/users/${pal.id}`, staffUser, {
      grants: [{ role: "locator", departmentId: zone1 }],
    });
    await form.getByRole("button", { name: "Opprett" }).click();
    await page
      .locator('p[role="status"]')
      .getByText(
        "Pål Mål kan ikke se og ta alarmer i denne avdelingen, så regelen kan ikke varsle dem. Velg noen andre.",
      )
      .waitFor();
    expect(await page.getByTestId("rules-table").getByText("Natt: Pål").count()).toBe(0);
    await screenshot(page, "routing-targets-refused");
    await context.close();
  });

  it("marks a phone stored before numbers were checked, and the administrator's save makes it E.164", async () => {
    const lars = people.lars as { id: string; email: string };
    await h.db.pool.query("UPDATE staff_users SET phone = '912 34 567' WHERE id = $1", [lars.id]);
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/users");
    const field = page.getByLabel(`Telefon: ${lars.email}`);
    const cell = page.getByTestId("user-phone").filter({ has: field });
    await cell
      .getByText("Må rettes: ikke et gyldig internasjonalt nummer, så det sendes ingen SMS til det")
      .waitFor();
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(await axeViolations(page, "table")).toEqual([]);
    await cell.getByRole("button", { name: "Bruk +4791234567" }).click();
    await expect.poll(() => page.getByLabel(`Telefon: ${lars.email}`).inputValue()).toBe("+4791234567");
    await expect.poll(() => cell.getAttribute("data-needs-correction")).toBeNull();
    const stored = await h.db.pool.query<{ phone: string }>("SELECT phone FROM staff_users WHERE id = $1", [
      lars.id,
    ]);
    expect(stored.rows[0]?.phone).toBe("+4791234567");
    await context.close();
  });
});
