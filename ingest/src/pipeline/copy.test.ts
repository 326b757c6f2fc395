import { describe, expect, it } from "vitest";
import { copyValue } from "./copy";

describe("COPY text format", () => {
  it("escapes what would end a field or a row, and writes NULL as \\N", () => {
    expect(copyValue('{"a":"b\\"c"}')).toBe('{"a":"b\\\\"c"}');
    expect(copyValue("tab\there\nnew\rline")).toBe("tab\\there\\nnew\\rline");
    expect(copyValue(null)).toBe("\\N");
    expect(copyValue(undefined)).toBe("\\N");
    expect(copyValue(Number.NaN)).toBe("\\N");
    expect(copyValue(1.5)).toBe("1.5");
    expect(copyValue(true)).toBe("t");
  });
});
