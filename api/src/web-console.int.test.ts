import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, TEST_CONFIG } from "../test/harness";
import { tileSource } from "./app";

let h: Harness;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vakt-web-"));
  await mkdir(join(dir, "assets"));
  await writeFile(
    join(dir, "index.html"),
    "<!doctype html><html><head><title>Vakt</title></head><body></body></html>",
  );
  await writeFile(join(dir, "assets", "app.js"), "console.log('vakt')");
  h = await createHarness({
    config: {
      ...TEST_CONFIG,
      WEB_DIST_DIR: dir,
      TILE_URL: 'https://{s}.tile.example.org/{z}/{x}/{y}.png?a=1&b="2"',
    },
  });
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

describe("web console", () => {
  it("serves index.html with the tile URL, assets, and client-side routes, leaving /api alone", async () => {
    const index = await h.app.request("/");
    const html = await index.text();
    expect(html).toContain(
      '<meta name="vakt-tile-url" content="https://{s}.tile.example.org/{z}/{x}/{y}.png?a=1&amp;b=&quot;2&quot;">',
    );
    expect(index.headers.get("content-security-policy")).toContain(
      "img-src 'self' data: https://*.tile.example.org",
    );
    const asset = await h.app.request("/assets/app.js");
    expect(await asset.text()).toBe("console.log('vakt')");
    expect(await (await h.app.request("/alarms/123")).text()).toContain("vakt-tile-url");
    const api = await h.app.request("/api/v1/nothing");
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toContain("application/problem+json");
  });

  it("derives the CSP image source from tile URLs", () => {
    expect(tileSource("https://tile.openstreetmap.org/{z}/{x}/{y}.png")).toEqual([
      "https://tile.openstreetmap.org",
    ]);
    expect(tileSource(undefined)).toEqual([]);
    expect(tileSource("/tiles/{z}/{x}/{y}.png")).toEqual([]);
  });
});
