import { errorCodes } from "@vakt/api";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import { ApiProblem, problemKey, problemOf, problemText } from "./client";

// The codes as they travel: the last segment of the problem type, hyphenated (api/src/errors.ts).
const wire = Object.keys(errorCodes).map((c) => c.replaceAll("_", "-"));

describe("problem responses in the console", () => {
  it("have a text in both languages for every code the API can emit", () => {
    for (const code of wire)
      for (const lang of ["en", "nb"] as const)
        expect(dictionaries[lang], `${lang} ${code}`).toHaveProperty([problemKey(code)]);
  });

  it("show the dictionary's text for the code, never the server's English detail", async () => {
    for (const [code, status] of Object.entries(errorCodes)) {
      const detail = `Server detail for ${code} that must not be shown`;
      const res = new Response(
        JSON.stringify({
          type: `https://vakt.dev/problems/${code.replaceAll("_", "-")}`,
          title: "T",
          status,
          detail,
          requestId: "r1",
        }),
        { status, headers: { "content-type": "application/problem+json" } },
      );
      const p = await problemOf(res, true);
      expect(p.detail).toBe(detail);
      expect(p.message).not.toContain("Server detail");
      expect(p.message).toBe(problemText(p.code, status, "nb"));
      expect(p.message).not.toBe(problemText("no-such-code", status, "nb"));
    }
  });

  it("turn any other answer into a plain text with no raw detail, in both languages", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.integer({ min: 0, max: 599 }),
        fc.constantFrom("en", "nb" as const),
        (code, status, lang) => {
          const text = problemText(code, status, lang);
          expect(text).not.toMatch(/undefined|NaN|\{|problem\./);
          expect(new ApiProblem(status, code, "raw detail", null).message).not.toContain("raw detail");
        },
      ),
    );
  });
});
