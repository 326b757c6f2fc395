/**
 * A browser's User-Agent header in words a person recognises ("Firefox", "Windows"): the raw
 * header is a developer's string, and the session list only needs to tell one browser from another.
 */
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\b(?:OPR|Opera)\//, "Opera"],
  [/\b(?:Firefox|FxiOS)\//, "Firefox"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\b(?:Chrome|Chromium|CriOS|HeadlessChrome)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
];
const SYSTEMS: [RegExp, string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bWindows\b/, "Windows"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

export interface BrowserName {
  browser: string | null;
  system: string | null;
}

export function browserName(userAgent: string | null): BrowserName {
  const ua = userAgent ?? "";
  const pick = (list: [RegExp, string][]) => list.find(([re]) => re.test(ua))?.[1] ?? null;
  return { browser: pick(BROWSERS), system: pick(SYSTEMS) };
}
