import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { deadLetterReasons } from "@vakt/ingest";
import { downlinkLogKinds, owntracksMessage, uplinkKinds } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatWeekday, formatWeekdays, type Lang } from "../format/time";
import { translate } from "./dict";
import { actionText, deadLetterReasonText, messageKindText } from "./enums";

const langs: Lang[] = ["nb", "en"];
const t = (lang: Lang) => (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) =>
  translate(lang, key, vars);

/** Every activity action the API and ingest write, read from their sources (`action: "x.y"`). */
async function actionCodes(): Promise<Set<string>> {
  const codes = new Set<string>();
  for (const root of ["../../../api/src", "../../../ingest/src"]) {
    const dir = join(import.meta.dirname, root);
    for (const entry of await readdir(dir, { recursive: true })) {
      if (!entry.endsWith(".ts") || entry.endsWith(".test.ts")) continue;
      const text = await readFile(join(dir, entry), "utf8");
      for (const m of text.matchAll(/action: "([a-z_]+\.[a-z_]+)"/g)) codes.add(m[1] ?? "");
    }
  }
  return codes;
}

describe("codes from the server in words", () => {
  it("has a text for every activity action the API writes, in both languages", async () => {
    const codes = await actionCodes();
    expect(codes.size).toBeGreaterThan(40);
    for (const code of codes)
      for (const lang of langs) expect(actionText(t(lang), code), `${lang} ${code}`).not.toMatch(/\(|\./);
  });

  it("has a text for every kind of message the transactions log holds, in both languages", async () => {
    // Uplinks: the native kinds, each OwnTracks _type (ingest logs owntracks_<type>), and the OsmAnd
    // kinds ingest writes (read from its sources); downlinks: the contract's kinds.
    const osmand = await readFile(
      join(import.meta.dirname, "../../../ingest/src/trackers/osmand.ts"),
      "utf8",
    );
    const kinds = [
      ...uplinkKinds,
      ...owntracksMessage.options.map((o) => `owntracks_${o.shape._type.value}`),
      ...[...osmand.matchAll(/kind: "(osmand[a-z_]*)"/g)].map((m) => m[1] ?? ""),
      ...downlinkLogKinds,
    ];
    expect(kinds.length).toBeGreaterThan(10);
    for (const kind of kinds)
      for (const lang of langs) expect(messageKindText(t(lang), kind), `${lang} ${kind}`).not.toContain(kind);
  });

  it("has a text for every dead-letter reason ingest can give, in both languages", () => {
    for (const reason of deadLetterReasons)
      for (const lang of langs)
        expect(deadLetterReasonText(t(lang), reason), `${lang} ${reason}`).not.toContain(reason);
  });

  it("names a code it does not know yet as other, in the language", () => {
    expect(actionText(t("nb"), "robot.danced")).toBe("Annen handling (robot.danced)");
    expect(deadLetterReasonText(t("en"), "cosmic_ray")).toBe("Other reason (cosmic_ray)");
    fc.assert(
      fc.property(fc.constantFrom(...langs), fc.string(), (lang, code) => {
        expect(actionText(t(lang), code)).not.toMatch(/undefined|enum\./);
      }),
    );
  });

  it("names weekdays instead of numbers", () => {
    expect(formatWeekday(1, "nb")).toBe("mandag");
    expect(formatWeekday(7, "en")).toBe("Sunday");
    expect(formatWeekdays([1, 2, 3, 4, 5, 6, 7], "nb")).toBe("mandag–søndag");
    expect(formatWeekdays([1, 2, 3, 4, 5], "en")).toBe("Monday–Friday");
    expect(formatWeekdays([1, 3], "nb")).toBe("man., ons.");
    fc.assert(
      fc.property(fc.constantFrom(...langs), fc.array(fc.integer({ min: 1, max: 7 })), (lang, days) => {
        const text = formatWeekdays(days, lang);
        expect(text).not.toMatch(/\d|undefined|NaN/);
      }),
    );
  });
});
