/**
 * The console in a real browser against the whole stack: login, an alarm from
 * a device over MQTT reaching map and queue within two seconds, taking and
 * resolving it, department isolation, and the administrator's screens.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { department } from "@vakt/schemas";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApiSession,
  apiSession,
  demoEmail,
  type Harness,
  logIn,
  newPage,
  RESULTS_DIR,
  recipientWithDevice,
  screenshot,
  startHarness,
  type TestDevice,
} from "./harness";

const OSLO = { lat: 59.9139, lon: 10.7522 };

describe("the web console", () => {
  let h: Harness;
  let admin: ApiSession;
  let north: TestDevice;
  let south: TestDevice;
  let operator: Page;

  beforeAll(async () => {
    h = await startHarness();
    admin = await apiSession(h.url, demoEmail("admin"));
    const departments = await admin.call("GET", "/departments", z.array(department));
    const zone = (name: string) => {
      const d = departments.find((x) => x.name === name);
      if (!d) throw new Error(`no department ${name}`);
      return d.id;
    };
    north = await recipientWithDevice(h, admin, zone("Sone 1"), "Nora", "Nordby");
    south = await recipientWithDevice(h, admin, zone("Sone 3"), "Sigurd", "Sørbø");
    await north.position(OSLO.lat, OSLO.lon);
    await south.position(OSLO.lat + 0.01, OSLO.lon + 0.01);
  });

  afterAll(async () => {
    await north?.client.endAsync();
    await south?.client.endAsync();
    await h?.stop();
  });

  it("logs in and shows the live map with the recipients, on a blank background without tiles", async () => {
    const { page } = await newPage(h);
    operator = page;
    await logIn(h, page, demoEmail("nord.operator"));
    await page.getByTestId("recipient-list").locator("summary").click();
    await page.getByTestId("recipient-list").getByText(north.name).waitFor();
    await expect.poll(() => page.locator(".vakt-marker, .vakt-cluster").count()).toBeGreaterThan(0);
    await screenshot(page, "01-login-live-map");
  });

  it("shows a device's alarm on the map and in the queue within two seconds", async () => {
    const page = operator;
    await expect.poll(() => page.getByTestId("live-status").getAttribute("data-status")).toBe("connected");
    const card = page.getByTestId("alarm-card").filter({ hasText: north.name });
    const marker = page.locator(
      `.vakt-marker--alarm[title^="${north.name}"], .vakt-cluster--alarm [title*="${north.name}"]`,
    );
    const started = Date.now();
    await north.alarm("sos", OSLO.lat, OSLO.lon);
    await card.waitFor({ timeout: 10_000 });
    await marker.first().waitFor({ state: "attached", timeout: 10_000 });
    const elapsed = Date.now() - started;
    console.log(`alarm to screen: ${elapsed} ms`);
    expect(elapsed).toBeLessThan(2000);
    await expect.poll(() => page.title()).toMatch(/Ny alarm/);
    await screenshot(page, "02-alarm-in-queue");
  });

  it("takes the alarm and resolves it with a note", async () => {
    const page = operator;
    const card = page.getByTestId("alarm-card").filter({ hasText: north.name });
    await card.click();
    const detail = page.getByTestId("alarm-detail");
    await detail.getByText("Nøkkel i nøkkelboks").waitFor();
    await detail.getByRole("button", { name: "Ta", exact: true }).click();
    await detail.getByTestId("alarm-holder").getByText("Tatt av Oda Operatør").waitFor();
    await expect.poll(() => card.getAttribute("data-state")).toBe("acknowledged");
    await detail.getByLabel("Notat").fill("Besøkt, alt i orden.");
    await detail.getByLabel("Utfall").selectOption("helped_on_site");
    await screenshot(page, "03-alarm-taken");
    await detail.getByRole("button", { name: "Avslutt" }).click();
    await expect.poll(() => card.count()).toBe(0);
    await screenshot(page, "04-alarm-resolved");
  });

  it("never shows an operator another department's recipients or alarms", async () => {
    const { context, page } = await newPage(h);
    const seen: string[] = [];
    page.on("response", async (res) => {
      if (res.url().includes("/api/v1/")) seen.push(await res.text().catch(() => ""));
    });
    page.on("websocket", (ws) => ws.on("framereceived", (f) => seen.push(String(f.payload))));
    await logIn(h, page, demoEmail("sor.operator"));
    await page.getByTestId("recipient-list").locator("summary").click();
    await page.getByTestId("recipient-list").getByText(south.name).waitFor();
    // The north operator's page is still open: a south alarm reaches the south operator only.
    await south.alarm("fall", OSLO.lat + 0.01, OSLO.lon + 0.01);
    await page.getByTestId("alarm-card").filter({ hasText: south.name }).waitFor();
    await north.position(OSLO.lat + 0.001, OSLO.lon);
    await expect(page.getByTestId("recipient-list").getByText(north.name).count()).resolves.toBe(0);
    expect(await operator.getByTestId("recipient-list").getByText(south.name).count()).toBe(0);
    expect(await operator.getByTestId("alarm-card").filter({ hasText: south.name }).count()).toBe(0);
    expect(seen.some((s) => s.includes(north.recipientId))).toBe(false);
    await screenshot(page, "05-south-operator");
    await context.close();
  });
});

export async function keepConsoleScreenshot(name: string) {
  await mkdir(join(import.meta.dirname, "../docs"), { recursive: true });
  await copyFile(join(RESULTS_DIR, `${name}.png`), join(import.meta.dirname, "../docs/console.png"));
}
