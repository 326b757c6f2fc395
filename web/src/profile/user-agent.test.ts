import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { browserName } from "./user-agent";

const NAMES = new Set(["Edge", "Opera", "Firefox", "Samsung Internet", "Chrome", "Safari"]);
const SYSTEMS = new Set(["iOS", "Android", "Windows", "ChromeOS", "macOS", "Linux"]);

describe("a browser's name from its User-Agent", () => {
  it("names the browsers staff use", () => {
    const cases: [string, string, string][] = [
      [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Edge",
        "Windows",
      ],
      ["Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Linux"],
      [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari",
        "iOS",
      ],
      [
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Chrome",
        "Android",
      ],
      [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36",
        "Chrome",
        "macOS",
      ],
    ];
    for (const [ua, browser, system] of cases) expect(browserName(ua), ua).toEqual({ browser, system });
  });

  it("never shows any part of an unknown header: a known name or nothing", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 300 })), (ua) => {
        const { browser, system } = browserName(ua);
        expect(browser === null || NAMES.has(browser)).toBe(true);
        expect(system === null || SYSTEMS.has(system)).toBe(true);
      }),
    );
    expect(browserName(null)).toEqual({ browser: null, system: null });
    expect(browserName("curl/8.5.0")).toEqual({ browser: null, system: null });
  });
});
