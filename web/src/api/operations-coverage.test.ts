/**
 * Every operation of the committed OpenAPI document is called by some console screen, or is in
 * one of the two short lists below with its reason. "Called" is decided by reading web/src's
 * sources (tests excluded) as coverage.ts describes: a path literal matching the operation's path
 * in a file that uses the operation's method through the typed or the hand-written client.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { coverage, literalsIn, methodsIn, operationsOf, pathsIn } from "./coverage";

/** Not console operations at all. */
const EXCLUDED: Record<string, string> = {
  ssoCallback: "the login provider redirects the browser there; no screen calls it",
  logoutEverywhere: "the profile ends the other sessions (logoutOtherSessions) and keeps this one instead",
  getDevice: "the devices screen works from the list (listDevices); one device alone is for integrations",
  getUser: "the users screen works from the list (listUsers); one user alone is for integrations",
};

/** Operations a screen should call but none does yet (issue #17, item 1): each is work left. */
const NOT_YET: Record<string, string> = {};

const ROOT = join(import.meta.dirname, "..");
const DOC = join(import.meta.dirname, "../../../api/openapi/openapi.generated.json");

function sources(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of readdirSync(ROOT, { recursive: true }) as string[])
    if (/\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file) && !file.endsWith(".d.ts"))
      out[file] = readFileSync(join(ROOT, file), "utf8");
  return out;
}

describe("every API operation has a console screen", () => {
  const operations = operationsOf(JSON.parse(readFileSync(DOC, "utf8")));
  const calls = coverage(operations, sources());

  it("calls each operation from some screen, or says why not", () => {
    const table = operations.map((o) => `${o.id}: ${(calls.get(o.id) ?? []).join(", ") || "–"}`);
    // The table of who calls what, for review.
    console.log(table.join("\n"));
    const uncovered = operations
      .filter((o) => (calls.get(o.id) ?? []).length === 0 && !(o.id in EXCLUDED) && !(o.id in NOT_YET))
      .map((o) => `${o.id} (${o.method} ${o.path})`);
    expect(uncovered, `operations no console screen calls:\n${uncovered.join("\n")}`).toEqual([]);
  });

  it("keeps both lists short and true: each entry an operation, not called, with a reason", () => {
    const ids = new Set(operations.map((o) => o.id));
    for (const [id, reason] of [...Object.entries(EXCLUDED), ...Object.entries(NOT_YET)]) {
      expect(ids.has(id), `${id} is not an operation of the document`).toBe(true);
      expect(calls.get(id), `${id} is called now: take it off the list`).toEqual([]);
      expect(reason.length).toBeGreaterThan(10);
      expect(reason).not.toContain("\n");
    }
    expect(Object.keys(EXCLUDED).length).toBeLessThanOrEqual(6);
  });

  it("finds the new screens' operations where they are", () => {
    const where = (id: string) => calls.get(id) ?? [];
    for (const id of ["listTokens", "createToken", "revokeToken"])
      expect(where(id)).toContain("admin/TokensAdmin.tsx");
    expect(where("updateOrganisation")).toContain("admin/OrganisationAdmin.tsx");
    expect(where("updateRecipient")).toContain("recipients/RecipientDetails.tsx");
    expect(where("getRecipientActivity")).toContain("recipients/WhoLooked.tsx");
    expect(where("getRecipientForPrivacy")).toContain("ui/RecipientGate.tsx");
    expect(where("reopenAlarm")).toContain("alarms/ReopenAlarm.tsx");
    for (const id of [
      "startTotpSetup",
      "enableTotp",
      "disableTotp",
      "listOwnSessions",
      "logoutOtherSessions",
    ])
      expect(where(id)).toContain("profile/ProfileSecurity.tsx");
  });
});

describe("reading calls out of a source", () => {
  it("recognises the typed client, the hand-written client and built paths", () => {
    const src = `
const r = await data(api.DELETE("/api/v1/tokens/{id}", { params }), apiToken);
const base = \`/recipients/\${props.recipientId}/contacts\`;
send("PUT", \`\${base}/order\`, { ids }, z.unknown());
const path = \`/alarms/\${a.id}/\${action === "comment" ? "comments" : action}\`;
await send(editing ? "PATCH" : "POST", "/sso-providers", body, x);
// send("DELETE", "/commented/out")
`;
    const paths = pathsIn(src).map((p) => p.join("/").replaceAll("\u0000", "*"));
    expect(paths).toEqual([
      "api/v1/tokens/*",
      "api/v1/recipients/*/contacts",
      "api/v1/recipients/*/contacts/order",
      "api/v1/alarms/*/*",
      "api/v1/sso-providers",
    ]);
    expect([...methodsIn(src)].sort()).toEqual(["DELETE", "PATCH", "POST", "PUT"]);
  });

  it("reads any string back out of a literal written around it, whatever it holds", () => {
    const text = fc.string().filter((s) => !/[\\"\n`$]/.test(s));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const lits = literalsIn(`x("${a}"); y(\`${b}\`);`);
        expect(lits.map((l) => l.text)).toEqual([a, b]);
      }),
    );
  });
});
