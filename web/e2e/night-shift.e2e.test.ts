/**
 * The night shift (issue 16) in Chromium against the whole stack: an alarm
 * under a two-step rule reaches the person asked at each step and rings until
 * someone takes it; administration screens start no live position watch and
 * a hidden tab ends one; the recipient's "who has looked" reads as prose; the
 * locate button asks the device and shows the fix it sends back.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { alarmList, alertRule, department, downlinkTopic, staffUser, staffUserCreated } from "@vakt/schemas";
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
  newAuditPage,
  PASSWORD,
  RESULTS_DIR,
  recipientWithDevice,
  screenshot,
  startHarness,
  type TestDevice,
} from "./harness";

const OSLO = { lat: 59.9139, lon: 10.7522 };
/** The README's picture of the alarm history: written when missing, or with VAKT_UPDATE_SCREENSHOT=1. */
const HISTORY_PNG = join(import.meta.dirname, "../docs/history.png");

/** Counts the oscillators the console starts (three per beep), so a test can hear the sound. */
async function instrumentSound(context: BrowserContext) {
  await context.addInitScript(() => {
    const w = window as unknown as { __vaktOscillators: number };
    w.__vaktOscillators = 0;
    const original = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function (this: AudioContext) {
      w.__vaktOscillators += 1;
      return original.call(this);
    };
  });
}
/** Stands in for the Notification API (headless Chromium shows none): records what the console shows and closes. */
async function instrumentNotifications(context: BrowserContext) {
  await context.addInitScript(() => {
    const log: { title: string; tag: string; closed: boolean }[] = [];
    (window as unknown as { __vaktNotifications: typeof log }).__vaktNotifications = log;
    class FakeNotification {
      static permission = "granted";
      static requestPermission = async () => "granted";
      onclick: (() => void) | null = null;
      private entry: (typeof log)[number];
      constructor(title: string, options?: { tag?: string }) {
        this.entry = { title, tag: options?.tag ?? "", closed: false };
        log.push(this.entry);
      }
      close() {
        this.entry.closed = true;
      }
    }
    (window as unknown as { Notification: unknown }).Notification = FakeNotification;
  });
}
const notifications = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { __vaktNotifications: { title: string; tag: string; closed: boolean }[] })
        .__vaktNotifications,
  );

const beeps = async (page: Page) =>
  Math.floor(
    (await page.evaluate(() => (window as unknown as { __vaktOscillators: number }).__vaktOscillators)) / 3,
  );

async function setTabHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, "visibilityState", {
      configurable: true,
      get: () => (h ? "hidden" : "visible"),
    });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

describe("the night shift", () => {
  let h: Harness;
  let admin: ApiSession;
  let zone1: string;
  let north: TestDevice;
  let odaId: string;
  let bo: { id: string; email: string; name: string };

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const d = departments.find((x) => x.name === "Sone 1");
    if (!d) throw new Error("no Sone 1");
    zone1 = d.id;
    north = await recipientWithDevice(h, admin, zone1, "Kari", "Nattvakt");
    await north.position(OSLO.lat, OSLO.lon);
    const email = `bo.${Date.now()}@demo.vakt.local`;
    const invited = await admin.call("POST", "/users", staffUserCreated, {
      email,
      firstName: "Bo",
      lastName: "Bakvakt",
      grants: [{ role: "operator", departmentId: zone1 }],
    });
    const accepted = await fetch(`${h.url}/api/v1/auth/invitations/accept`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: h.url },
      body: JSON.stringify({ token: invited.invitationToken, password: PASSWORD }),
    });
    expect(accepted.ok).toBe(true);
    const users = await admin.call("GET", "/users", z.array(staffUser));
    const oda = users.find((u) => u.email === demoEmail("nord.operator"));
    const b = users.find((u) => u.email === email);
    if (!oda || !b) throw new Error("users missing");
    odaId = oda.id;
    bo = { id: b.id, email, name: "Bo Bakvakt" };
  });

  afterAll(async () => {
    await north?.client.endAsync();
    await h?.stop();
  });

  it("asks Oda at step 1, then Bo at step 2 and by reminder, with the sound repeating, and stops ringing for both once taken", async () => {
    await admin.call("POST", "/alert-rules", alertRule, {
      departmentId: zone1,
      name: "Natt: Oda, så Bo",
      alarmTypes: ["sos"],
      steps: [
        { waitS: 6, users: [odaId], channels: ["console"] },
        { waitS: 60, users: [bo.id], channels: ["console"] },
      ],
      reminderIntervalS: 30,
      maxReminders: 1,
    });
    const a = await newAuditPage(h);
    const b = await newAuditPage(h);
    await instrumentSound(a.context);
    await instrumentNotifications(a.context);
    await instrumentSound(b.context);
    await logIn(h, a.page, demoEmail("nord.operator"));
    await logIn(h, b.page, bo.email);
    for (const p of [a.page, b.page])
      await expect
        .poll(() => p.getByTestId("live-status").getAttribute("data-status"), { timeout: 10_000 })
        .toBe("connected");
    // Bo's own setting: repeat every 5 seconds (kept per user).
    await b.page.getByTestId("sound-settings").locator("summary").click();
    await b.page.locator('select[name="sound-repeat"]').selectOption("5");
    const bSound = await b.page.evaluate(() =>
      Object.keys(localStorage).filter((k) => k.startsWith("vakt.sound.")),
    );
    expect(bSound).toEqual([`vakt.sound.${bo.id}`]);

    // Oda's console is in a background tab when the alarm comes.
    await setTabHidden(a.page, true);
    await north.alarm("sos", OSLO.lat, OSLO.lon);
    const cardA = a.page.getByTestId("alarm-card").filter({ hasText: north.name });
    const cardB = b.page.getByTestId("alarm-card").filter({ hasText: north.name });

    // Step 1: Oda is asked, Bo sees the alarm but is not asked yet.
    await expect.poll(() => cardA.getAttribute("data-asked"), { timeout: 10_000 }).toBe("true");
    await cardA.getByTestId("alarm-asked").getByText("Trinn 1 · spør Oda Operatør").waitFor();
    await cardB.waitFor();
    expect(await cardB.getAttribute("data-asked")).toBeNull();
    await a.page.getByTestId("asked-banner").waitFor();
    const odaBeepsAtStep1 = await beeps(a.page);
    expect(odaBeepsAtStep1).toBeGreaterThanOrEqual(1);
    expect(await notifications(a.page)).toEqual([
      {
        title: "Du blir bedt om å ta en alarm (trinn 1)",
        tag: expect.stringMatching(/^vakt-alarm-/),
        closed: false,
      },
    ]);
    await setTabHidden(a.page, false);

    // Step 2: Bo is asked; his console rings and keeps ringing.
    await expect.poll(() => cardB.getAttribute("data-asked"), { timeout: 15_000 }).toBe("true");
    await cardB.getByTestId("alarm-asked").getByText("Trinn 2 · spør Bo Bakvakt").waitFor();
    await expect.poll(() => b.page.title(), { timeout: 10_000 }).toMatch(/trinn 2/);
    // One beep for the new alarm, one for the alert, then the repeats.
    await expect.poll(() => beeps(b.page), { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
    // Oda, asked at step 1, is still rung (every 15 s by default) while nobody has taken it.
    expect(await cardA.getAttribute("data-asked")).toBe("true");
    // 30 s after step 2 nobody has taken it: the reminder asks Bo again.
    await cardB
      .getByTestId("alarm-asked")
      .getByText("Påminnelse etter trinn 2 · spør Bo Bakvakt")
      .waitFor({ timeout: 45_000 });

    // Oda's panel shows who was asked at which step, by name.
    await cardA.click();
    const deliveries = a.page.getByTestId("alarm-deliveries");
    await deliveries.getByText(/Trinn 1 · konsoll · Oda Operatør · sendt/).waitFor();
    // Twice: step 2 and its reminder.
    await expect
      .poll(() => deliveries.getByText(/Trinn 2 · konsoll · Bo Bakvakt · sendt/).count(), { timeout: 10_000 })
      .toBe(2);
    await b.page.getByTestId("sound-settings").locator("summary").click();
    expect(await axeViolations(a.page, "#queue")).toEqual([]);
    expect(await axeViolations(b.page, "#queue")).toEqual([]);
    await screenshot(b.page, "night-01-bo-asked");

    await a.page.getByTestId("alarm-detail").getByRole("button", { name: "Ta", exact: true }).click();
    await a.page.getByTestId("alarm-holder").getByText("Tatt av Oda Operatør").waitFor();
    await screenshot(a.page, "night-01-oda-took");
    for (const p of [a.page, b.page])
      await expect
        .poll(() => p.locator("#queue").getAttribute("data-ringing"), { timeout: 10_000 })
        .toBe("false");
    expect(await cardB.getAttribute("data-asked")).toBeNull();
    // Taken: Oda's desktop notification is withdrawn too.
    expect((await notifications(a.page)).map((n) => n.closed)).toEqual([true]);
    await expect
      .poll(() => b.page.getByTestId("queue-count").textContent(), { timeout: 10_000 })
      .toBe("Uløste: 1");
    // No more beeps on Bo's console: wait out more than two of his 5-second repeats.
    const after = await beeps(b.page);
    await b.page.waitForTimeout(11_000);
    expect(await beeps(b.page)).toBe(after);
    await a.context.close();
    await b.context.close();
  }, 120_000);

  const watches = async (userId: string, action: string) =>
    Number(
      (
        await h.db.pool.query<{ n: string }>(
          "SELECT count(*) AS n FROM activity_log WHERE actor_id = $1 AND action = $2",
          [userId, action],
        )
      ).rows[0]?.n,
    );

  it("starts no live position watch on administration screens, one on the live map, and ends it while the tab is hidden", async () => {
    const users = await admin.call("GET", "/users", z.array(staffUser));
    const me = users.find((u) => u.email === demoEmail("admin"));
    if (!me) throw new Error("no admin");
    const started = () => watches(me.id, "position.live_watch_started");
    const ended = () => watches(me.id, "position.live_watch_ended");
    const before = await started();
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), "/admin/users");
    await expect
      .poll(() => page.getByTestId("live-status").getAttribute("data-status"), { timeout: 10_000 })
      .toBe("connected");
    for (const section of ["recipients", "devices", "routing", "activity"]) {
      await page.goto(`${h.url}/admin/${section}`);
      await page.locator(".topbar").waitFor();
      await expect
        .poll(() => page.getByTestId("live-status").getAttribute("data-status"), { timeout: 10_000 })
        .toBe("connected");
    }
    // Give a watch every chance to be written, then count: none.
    await page.waitForTimeout(1500);
    expect(await started()).toBe(before);

    await page.goto(`${h.url}/`);
    await expect.poll(started, { timeout: 10_000 }).toBe(before + 1);
    const endedBefore = await ended();
    await setTabHidden(page, true);
    await expect.poll(ended, { timeout: 10_000 }).toBe(endedBefore + 1);
    await setTabHidden(page, false);
    await expect.poll(started, { timeout: 10_000 }).toBe(before + 2);
    // Leaving the map for administration ends the watch.
    await page.getByRole("link", { name: "Administrasjon" }).click();
    await expect.poll(ended, { timeout: 10_000 }).toBe(endedBefore + 2);
    await context.close();
  });

  it("locates the device from the recipient page and shows the fix it sends back", async () => {
    // The device answers a locate command with a fix, as a real one would.
    await north.client.subscribeAsync(downlinkTopic(north.serial, "command"), { qos: 1 });
    const answered = new Promise<void>((resolve) => {
      north.client.on("message", (topic, payload) => {
        if (topic !== downlinkTopic(north.serial, "command")) return;
        const cmd = JSON.parse(payload.toString()) as { command?: string };
        if (cmd.command === "locate") void north.position(OSLO.lat + 0.002, OSLO.lon + 0.003).then(resolve);
      });
    });
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"), `/recipients/${north.recipientId}`);
    await page.getByRole("button", { name: "Hent posisjon nå" }).click();
    await page
      .getByTestId("locate-status")
      .getByText(/Spurte enheten|Ny posisjon/)
      .waitFor();
    await answered;
    await page
      .getByTestId("locate-status")
      .getByText(`Ny posisjon`, { exact: false })
      .waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("locate-status").textContent()).toContain(
      `${(OSLO.lat + 0.002).toFixed(5)}, ${(OSLO.lon + 0.003).toFixed(5)}`,
    );
    await screenshot(page, "night-02-located");
    await context.close();
  });

  it("locates the device from the alarm panel too", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"));
    await expect
      .poll(() => page.getByTestId("live-status").getAttribute("data-status"), { timeout: 10_000 })
      .toBe("connected");
    await north.alarm("sos", OSLO.lat, OSLO.lon);
    // The alarm Oda took in the first test is still listed (taken); this one is the open one.
    const card = page
      .locator('[data-testid="alarm-card"][data-state="open"]')
      .filter({ hasText: north.name });
    await card.click();
    const detail = page.getByTestId("alarm-detail");
    await detail.getByRole("button", { name: "Hent posisjon nå" }).click();
    // The device (subscribed in the test above) answers every locate with this fix.
    await detail.getByTestId("locate-status").getByText("Ny posisjon", { exact: false }).waitFor();
    expect(await detail.getByTestId("locate-status").textContent()).toContain(
      `${(OSLO.lat + 0.002).toFixed(5)}, ${(OSLO.lon + 0.003).toFixed(5)}`,
    );
    const id = await card.getAttribute("data-alarm-id");
    await admin.call("POST", `/alarms/${id}/cancel`, z.unknown(), { note: "locate test" });
    await context.close();
  });

  it("asks a locator for a reason before locating, and shows the fix only when they look it up", async () => {
    const departments = await admin.call("GET", "/departments", z.array(department));
    const zone3 = departments.find((x) => x.name === "Sone 3");
    if (!zone3) throw new Error("no Sone 3");
    const south = await recipientWithDevice(h, admin, zone3.id, "Sverre", "Søk");
    await south.client.subscribeAsync(downlinkTopic(south.serial, "command"), { qos: 1 });
    let answered = 0;
    south.client.on("message", (topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { command?: string };
      if (topic === downlinkTopic(south.serial, "command") && cmd.command === "locate")
        void south.position(OSLO.lat - 0.004, OSLO.lon - 0.005).then(() => answered++);
    });
    try {
      const { context, page } = await newAuditPage(h);
      await logIn(h, page, demoEmail("sor.locator"), `/recipients/${south.recipientId}`);
      const locate = page.getByTestId("locate");
      await locate.getByRole("button", { name: "Hent posisjon nå" }).click();
      const why = locate.getByLabel(/Hvorfor trenger du posisjonen nå/);
      await why.fill("Savnet");
      await locate.getByRole("button", { name: "Hent posisjon nå" }).click();
      await locate.getByRole("alert").getByText("For kort: skriv minst 15 tegn.").waitFor();
      expect(await why.getAttribute("aria-invalid")).toBe("true");
      await why.fill("Savnet etter kveldsturen, naboen ringte");
      await locate.getByRole("button", { name: "Hent posisjon nå" }).click();
      await locate
        .getByTestId("locate-status")
        .getByText(/Spurte enheten/)
        .waitFor();
      await expect.poll(() => answered, { timeout: 10_000 }).toBe(1);
      // The locator looks it up on purpose; the fix may take a moment to be stored.
      const status = locate.getByTestId("locate-status");
      for (let i = 0; i < 20 && !(await status.textContent())?.includes("Ny posisjon"); i++) {
        await locate.getByRole("button", { name: "Vis den nye posisjonen" }).click();
        await page.waitForTimeout(500);
      }
      expect(await locate.getByTestId("locate-status").textContent()).toContain(
        `${(OSLO.lat - 0.004).toFixed(5)}, ${(OSLO.lon - 0.005).toFixed(5)}`,
      );
      const users = await admin.call("GET", "/users", z.array(staffUser));
      const lene = users.find((u) => u.email === demoEmail("sor.locator"));
      const { rows } = await h.db.pool.query<{ action: string; reason: string | null }>(
        "SELECT DISTINCT action, reason FROM activity_log WHERE actor_id = $1 AND $2 = ANY(recipient_ids)",
        [lene?.id, south.recipientId],
      );
      expect(rows).toContainEqual({
        action: "device.locate_requested",
        reason: "Savnet etter kveldsturen, naboen ringte",
      });
      expect(rows.filter((r) => r.action.startsWith("position.")).every((r) => r.reason !== null)).toBe(true);
      await context.close();
    } finally {
      await south.client.endAsync();
    }
  });

  it("tells the recipient's next of kin in sentences who has looked, with filters and without action codes", async () => {
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("admin"), `/recipients/${north.recipientId}`);
    const looked = page.getByTestId("who-looked");
    await looked.getByRole("heading", { name: `Hvem har sett på ${north.name}` }).waitFor();
    const list = looked.getByTestId("looked-list");
    // Positions first: Oda's look at the history on the recipient page in the previous test, by name and in words.
    await list
      .getByText(`Oda Operatør så hvor ${north.name} har vært (posisjonshistorikk).`)
      .first()
      .waitFor();
    for (const line of await list.locator("li").allTextContents())
      expect(line).not.toMatch(/\b[a-z_]+\.[a-z_]+\b/);
    await looked.getByLabel("Vis").selectOption("alarm");
    await list.getByText(`Oda Operatør tok en alarm fra ${north.name}.`).waitFor();
    expect(await list.getByText("posisjonshistorikk").count()).toBe(0);
    await looked.getByLabel("Vis").selectOption("device");
    // Twice: from the recipient page and from the alarm panel.
    await expect
      .poll(() => list.getByText(`Oda Operatør ba alarmenheten til ${north.name} om posisjonen.`).count(), {
        timeout: 10_000,
      })
      .toBe(2);
    expect(await axeViolations(page, '[data-testid="who-looked"]')).toEqual([]);
    await screenshot(page, "night-03-who-looked");
    await context.close();
  });
  it("shows closed alarms in the history with their timeline, times, filters and a CSV export", async () => {
    // The alarm of the first test, taken by Oda, is resolved now; the one of the panel test was cancelled.
    const taken = await admin.call(
      "GET",
      `/alarms?state=acknowledged&recipientId=${north.recipientId}`,
      alarmList,
    );
    const first = taken.items[0];
    if (!first) throw new Error("the taken alarm is gone");
    await admin.call("POST", `/alarms/${first.id}/resolve`, z.unknown(), {
      outcome: "helped_on_site",
      note: "Fulgt hjem.",
    });
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"));
    await page.getByRole("link", { name: "Alarmhistorikk" }).click();
    const table = page.getByTestId("history-table");
    // This file's two closed alarms, beside the demo's own closed ones (seeded for the history screen).
    await expect
      .poll(() => table.getByTestId("history-row").count(), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    const row = table.locator(`[data-alarm-id="${first.id}"]`);
    await row.getByText("Hjulpet på stedet").waitFor();
    // Time to take: taken some seconds after step 2, never "–".
    expect(await row.locator("td").nth(6).textContent()).toMatch(/^\d+ (s|min)/);
    await row.getByRole("button", { name: "Tidslinje" }).click();
    const tl = page.getByTestId("history-timeline");
    await tl.getByText(/Utløst/).waitFor();
    await tl.getByText(/Varslet \(Trinn 1\)/).waitFor();
    await tl
      .getByText(/Trinn 2 · konsoll · Bo Bakvakt · sendt/)
      .first()
      .waitFor();
    await tl.getByText(/Varslet \(påminnelse\)/).waitFor();
    await tl.getByText(/Tatt · Oda Operatør/).waitFor();
    await tl.getByText(/Avsluttet · Anne Admin: Fulgt hjem\./).waitFor();
    expect(await axeViolations(page, '[data-testid="history"]')).toEqual([]);
    await screenshot(page, "night-04-history");
    if (process.env.VAKT_UPDATE_SCREENSHOT || !existsSync(HISTORY_PNG)) {
      await mkdir(dirname(HISTORY_PNG), { recursive: true });
      await copyFile(join(RESULTS_DIR, "night-04-history.png"), HISTORY_PNG);
    }

    await page.getByLabel("Utfall").selectOption("false_alarm");
    await expect.poll(() => table.getByTestId("history-row").count(), { timeout: 10_000 }).toBe(1);
    expect(await table.locator(`[data-alarm-id="${first.id}"]`).count()).toBe(0);
    // A period that ends before it starts is refused in words under the field, and not applied.
    const filters = page.getByRole("form", { name: "Filtrer alarmhistorikken" });
    await filters.getByLabel("Fra", { exact: true }).fill("2026-12-03");
    await filters.getByLabel("Til", { exact: true }).fill("2026-12-02");
    await filters.getByRole("alert").getByText("Perioden slutter før den begynner").waitFor();
    expect(await filters.getByLabel("Til", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    // "Fra" alone was a valid filter and was applied (a new query, loading for a moment), so polled.
    await expect.poll(() => table.getByTestId("history-row").count(), { timeout: 10_000 }).toBe(1);
    await filters.getByLabel("Til", { exact: true }).fill("");
    await filters.getByLabel("Fra", { exact: true }).fill("");
    await expect.poll(() => filters.getByRole("alert").count()).toBe(0);
    await expect.poll(() => table.getByTestId("history-row").count(), { timeout: 10_000 }).toBe(1);

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Eksporter CSV" }).click();
    const file = await (await download).path();
    const lines = (await readFile(file, "utf8")).trimEnd().split("\r\n");
    expect(lines[0]).toMatch(/^id,raised_at,type,severity,state,outcome,/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("false_alarm");
    await context.close();
  });

  it("shows a fall alarm's cancel window counting down, and a cancel in it from the device or by staff alerts nobody", async () => {
    const faller = await recipientWithDevice(h, admin, zone1, "Falle", "Vindu");
    await admin.call("POST", "/alert-rules", alertRule, {
      departmentId: zone1,
      name: "Fall: angrevindu",
      alarmTypes: ["fall"],
      cancelWindowS: 25,
      steps: [{ waitS: 60, users: [odaId], channels: ["console"] }],
    });
    const { context, page } = await newAuditPage(h);
    await logIn(h, page, demoEmail("nord.operator"));
    await expect
      .poll(() => page.getByTestId("live-status").getAttribute("data-status"), { timeout: 10_000 })
      .toBe("connected");
    const card = page.getByTestId("alarm-card").filter({ hasText: faller.name });
    const countdown = card.getByTestId("cancel-window");
    const seconds = async () => Number((await countdown.textContent())?.match(/(\d+) s igjen/)?.[1]);
    const alarmOf = async (messageId: string) =>
      (
        await h.db.pool.query<{ id: string }>("SELECT id FROM alarms WHERE device_message_id = $1", [
          messageId,
        ])
      ).rows[0]?.id as string;
    /** Brings the window's job forward and waits for it: a cancelled alarm's routing stops, sending nothing. */
    const windowEndsQuietly = async (alarmId: string) => {
      await h.db.pool.query("UPDATE graphile_worker._private_jobs SET run_at = now() WHERE key = $1", [
        `alarm:${alarmId}`,
      ]);
      await expect
        .poll(
          async () =>
            (await h.db.pool.query("SELECT status FROM alarm_routing WHERE alarm_id = $1", [alarmId])).rows[0]
              ?.status,
          { timeout: 15_000 },
        )
        .toBe("stopped");
      expect(
        (await h.db.pool.query("SELECT * FROM alarm_deliveries WHERE alarm_id = $1", [alarmId])).rows,
      ).toEqual([]);
    };

    // The wearer falls, then cancels on the device while the console counts down.
    const first = await faller.alarm("fall", OSLO.lat, OSLO.lon);
    await countdown.waitFor({ timeout: 10_000 });
    const startS = await seconds();
    expect(startS).toBeGreaterThan(0);
    expect(startS).toBeLessThanOrEqual(25);
    await expect.poll(seconds, { timeout: 10_000 }).toBeLessThan(startS);
    await card.click();
    await page
      .getByTestId("alarm-detail")
      .getByTestId("cancel-window")
      .getByText(/Ingen er varslet ennå/)
      .waitFor();
    expect(await card.getAttribute("data-asked")).toBeNull();
    expect(await axeViolations(page, "#queue")).toEqual([]);
    await screenshot(page, "night-cancel-window");
    await faller.cancel(first);
    const firstId = await alarmOf(first);
    await expect
      .poll(
        async () =>
          (await h.db.pool.query("SELECT state FROM alarms WHERE id = $1", [firstId])).rows[0]?.state,
        { timeout: 10_000 },
      )
      .toBe("cancelled");
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0);
    await windowEndsQuietly(firstId);

    // The next fall: the night shift cancels it as a false alarm within the window.
    const second = await faller.alarm("fall", OSLO.lat, OSLO.lon);
    await countdown.waitFor({ timeout: 10_000 });
    await card.click();
    await page.getByTestId("alarm-detail").getByRole("button", { name: "Avbryt som falsk alarm" }).click();
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0);
    await windowEndsQuietly(await alarmOf(second));
    await context.close();
  }, 90_000);
});
