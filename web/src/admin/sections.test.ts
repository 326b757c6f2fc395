import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sections } from "./AdminPage";

const doc = JSON.parse(
  readFileSync(new URL("../../../api/openapi/openapi.generated.json", import.meta.url), "utf8"),
) as { paths: Record<string, Record<string, { "x-permission"?: unknown }>> };

describe("administration sections", () => {
  it("each is shown with exactly the permission the API declares for the route it is for", () => {
    expect(sections.length).toBeGreaterThan(10);
    for (const s of sections) {
      const [method, path] = s.route.split(" ") as [string, string];
      const declared = doc.paths[path]?.[method.toLowerCase()]?.["x-permission"];
      expect(declared, `${s.key}: ${s.route}`).toBeDefined();
      expect(s.permission, s.key).toEqual(declared);
    }
  });
});
