import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { OPERATION_IDS } from "./openapi";
import {
  DOCUMENT_FILE,
  type OpenApiDocument,
  openApiArtifacts,
  openApiDocument,
  TYPES_FILE,
} from "./openapi-artifacts";

const operations = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  );

describe("OpenAPI document", () => {
  it("names every operation, uniquely, and the name list has no entry for a route that is gone", async () => {
    const ops = operations(await openApiDocument());
    expect(ops.length).toBeGreaterThan(80);
    const missing = ops.filter((o) => !o.op.operationId).map((o) => o.key);
    expect(missing, "add these to OPERATION_IDS in api/src/openapi.ts").toEqual([]);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(Object.keys(OPERATION_IDS).sort()).toEqual(ops.map((o) => o.key).sort());
  });

  it("keeps shared schemas as components: the problem document once, not inlined in every response", async () => {
    const doc = await openApiDocument();
    const schemas = doc.components?.schemas ?? {};
    for (const name of ["Problem", "Id", "AlarmList", "DeadLetterPage", "AlarmSummary", "Recipient"])
      expect(Object.keys(schemas), name).toContain(name);
    const paths = JSON.stringify(doc.paths);
    // The problem's own field appears only in its component.
    expect(paths).not.toContain('"requestId"');
    expect(paths).toContain('"$ref":"#/components/schemas/Problem"');
    expect(JSON.stringify(doc).length).toBeLessThan(200_000);
  });

  it("marks public routes `security: []`, guarded ones with their schemes, and names the server", async () => {
    const doc = await openApiDocument();
    expect(doc.servers).toEqual([{ url: "/", description: "This Vakt site" }]);
    for (const { key, op } of operations(doc)) {
      if (op["x-permission"] === "public") expect(op.security, key).toEqual([]);
      else expect(op.security?.length, key).toBeGreaterThan(0);
    }
  });

  it("is committed with its TypeScript types, and neither is stale (npm run openapi -w @vakt/api)", async () => {
    const fresh = await openApiArtifacts();
    expect(await readFile(DOCUMENT_FILE, "utf8"), "api/openapi/openapi.generated.json is stale").toBe(
      fresh.document,
    );
    expect(await readFile(TYPES_FILE, "utf8"), "api/openapi/schema.generated.d.ts is stale").toBe(
      fresh.types,
    );
  });
});
