/**
 * The cancel window in the console (issue 16), in Chromium against the whole
 * stack: a fall in its window does not sound (nobody is alerted yet), it
 * sounds when the window ends with the alarm open, and a cancel in the window
 * means it never sounds; the history's timeline says when the window opened
 * and how it ended.
 */
import { alertRule, department } from "@vakt/schemas";
import type { BrowserContext, Page } from "playwright-core";
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
  screenshot,
  startHarness,
  type TestDevice,
} from "./harness";

const OSLO = { lat: 59.9139, lon: 10.7522 };

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
const beeps = async (page: Page) =>
  Math.floor(
    (await page.evaluate(() => (window as unknown as { __vaktOscillators: number }).__vaktOscillators)) / 3,
  );

describe("the cancel window in the console", () => {
  let h: Harness;
  let admin: ApiSession;
  /** A 5 s window: short enough to wait out. */
  let quick: TestDevice;
  /** A 12 s window: long enough to cancel in on a loaded machine. */
  let slow: TestDevice;
  let context: BrowserContext;
  let page: Page;
  const ids: Record<string, string> = {};

  const alarmOf = (messageId: string) =>
    eventually(
      async () =>
        (
          await h.db.pool.query<{ id: string }>("SELECT id FROM alarms WHERE device_message_id = $1", [
            messageId,
          ])
        ).rows[0]?.id,
      "the alarm is stored",
    );
  const windowEnd = (alarmId: string) =>
    eventually(
      async () =>
        (
          await h.db.pool.query<{ cancel_until: Date | null }>(
            "SELECT cancel_until FROM alarm_routing WHERE alarm_id = $1",
            [alarmId],
          )
        ).rows[0]?.cancel_until ?? undefined,
      "the alarm has a cancel window",
    );

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const zone1 = departments.find((x) => x.name === "Sone 1");
    if (!zone1) throw new Error("no Sone 1");
    // Sub-departments of Sone 1 (Oda's), each with its own fall rule: the deepest department's rule wins.
    const withRule = async (name: string, cancelWindowS: number) => {
      const d = await admin.call("POST", "/departments", department, { name, parentId: zone1.id });
      await admin.call("POST", "/alert-rules", alertRule, {
        departmentId: d.id,
        name,
        alarmTypes: ["fall"],
        cancelWindowS,
        // Alerts nobody in the console: the only sound is the new alarm's.
        steps: [{ waitS: 600, users: [], roles: [], channels: ["console"] }],
      });
      return d.id;
    };
    quick = await recipientWithDevice(h, admin, await withRule("Fall kort", 5), "Frida", "Fall");
    slow = await recipientWithDevice(h, admin, await withRule("Fall lang", 12), "Fredrik", "Fall");
    ({ context, page } = await newAuditPage(h));
    await instrumentSound(context);
    await logIn(h, page, demoEmail("nord.operator"));
    await eventually(
      async () =>
        (await page.getByTestId("live-status").getAttribute("data-status")) === "connected" || undefined,
      "the console is connected",
    );
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await quick?.client.endAsync();
    await slow?.client.endAsync();
    await h?.stop();
  });

  it("does not sound while the window runs, and sounds once when it ends with the alarm open", async () => {
    const before = await beeps(page);
    const message = await quick.alarm("fall", OSLO.lat, OSLO.lon);
    const card = page.getByTestId("alarm-card").filter({ hasText: quick.name });
    const countdown = card.getByTestId("cancel-window");
    await countdown.waitFor({ timeout: 10_000 });
    // The card is there, counting down, and the console is quiet.
    expect(await beeps(page)).toBe(before);
    expect(await countdown.isVisible()).toBe(true);
    expect(await axeViolations(page, "#queue")).toEqual([]);
    await screenshot(page, "cancel-window-quiet");
    await countdown.waitFor({ state: "detached", timeout: 15_000 });
    await expect.poll(() => beeps(page), { timeout: 10_000 }).toBe(before + 1);
    ids.routed = await alarmOf(message);
    // It stays one beep: the new alarm's (nobody was asked to take it, so nothing repeats).
    await page.waitForTimeout(2_000);
    expect(await beeps(page)).toBe(before + 1);
    await admin.call("POST", `/alarms/${ids.routed}/cancel`, z.unknown(), { note: "Sjekket på telefon." });
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0);
  }, 60_000);

  it("never sounds for a fall cancelled in its window, from the device or by the night shift", async () => {
    const before = await beeps(page);
    const card = page.getByTestId("alarm-card").filter({ hasText: slow.name });
    const countdown = card.getByTestId("cancel-window");

    const first = await slow.alarm("fall", OSLO.lat, OSLO.lon);
    await countdown.waitFor({ timeout: 10_000 });
    await slow.cancel(first);
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0);
    ids.device = await alarmOf(first);

    const second = await slow.alarm("fall", OSLO.lat, OSLO.lon);
    await countdown.waitFor({ timeout: 10_000 });
    await card.click();
    await page.getByTestId("alarm-detail").getByRole("button", { name: "Avbryt som falsk alarm" }).click();
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0);
    ids.staff = await alarmOf(second);

    // Wait out both windows, and the console's next look at the clock after them: still quiet.
    const last = await windowEnd(ids.staff);
    await page.waitForTimeout(Math.max(0, last.getTime() - Date.now()) + 1_500);
    expect(await beeps(page)).toBe(before);
  }, 60_000);

  it("shows in the history when the window opened and how it ended, in words", async () => {
    await page.getByRole("link", { name: "Alarmhistorikk" }).click();
    const table = page.getByTestId("history-table");
    const timelineOf = async (alarmId: string) => {
      const row = table.locator(`[data-alarm-id="${alarmId}"]`);
      await row.getByRole("button", { name: "Tidslinje" }).click();
      return page.locator(`#history-${alarmId}`).getByTestId("history-timeline");
    };
    const routed = await timelineOf(ids.routed as string);
    await routed.getByText("Angrevindu på 5 s: ingen er varslet ennå").waitFor();
    await routed.getByText("Angrevinduet er over: varslingen startet").waitFor();
    const device = await timelineOf(ids.device as string);
    await device.getByText("Angrevindu på 12 s: ingen er varslet ennå").waitFor();
    await device.getByText("Avbrutt i angrevinduet fra alarmenheten").waitFor();
    const staff = await timelineOf(ids.staff as string);
    await staff.getByText("Avbrutt i angrevinduet av Oda Operatør").waitFor();
    // The rows are in time order: opened, then ended.
    const rows = await staff.locator("li").allTextContents();
    const opened = rows.findIndex((r) => r.includes("Angrevindu på 12 s"));
    const ended = rows.findIndex((r) => r.includes("Avbrutt i angrevinduet"));
    expect(opened).toBeGreaterThanOrEqual(0);
    expect(ended).toBeGreaterThan(opened);
    expect(await axeViolations(page, '[data-testid="history"]')).toEqual([]);
    await screenshot(page, "cancel-window-history");
  }, 60_000);
});
