/**
 * What PostgreSQL can hold. `text` and `jsonb` refuse U+0000, and `jsonb`
 * refuses a lone UTF-16 surrogate (`"\ud800"` in JSON); a device can send
 * both. Whatever ingest writes as text from a device (a topic, a reason's
 * detail, a preview) goes through `storableText`, and a message whose JSON
 * holds such a string is refused before it reaches the database
 * (`unstorableTextPath`), so no content can make a batch fail on it.
 *
 * Numbers likewise: a `real` column refuses what underflows or overflows a
 * float4 ("5e-324" and "1e39" are out of range for type real), and a value
 * that rounds onto a CHECK's bound fails it (a heading of 359.99999 is 360 as
 * a float4). Every row builder puts such values through `storableReal`.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const NUL = /\u0000/g;

/** `s` with NUL and lone surrogates replaced by U+FFFD, at most `maxChars` UTF-16 units. */
export function storableText(s: string, maxChars = Number.POSITIVE_INFINITY): string {
  const cut = s.length > maxChars ? s.slice(0, maxChars) : s;
  return cut.replace(NUL, "\uFFFD").replace(LONE_SURROGATE, "\uFFFD");
}

function unstorable(s: string): boolean {
  NUL.lastIndex = 0;
  LONE_SURROGATE.lastIndex = 0;
  return NUL.test(s) || LONE_SURROGATE.test(s);
}

/**
 * The path of the first string or key in a parsed JSON value that PostgreSQL
 * cannot store, or null. Only JSON text with a `\u` escape can produce one
 * (raw NUL is invalid JSON, and invalid UTF-8 decodes to U+FFFD), so the walk
 * is skipped for every other message. Iterative: nesting depth cannot
 * overflow the stack.
 */
export function unstorableTextPath(text: string, value: unknown): string | null {
  if (!text.includes("\\u")) return null;
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === "string") {
      if (unstorable(v)) return path || "(root)";
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        const at = path ? `${path}.${storableText(k, 64)}` : storableText(k, 64);
        if (unstorable(k)) return `${at} (key)`;
        stack.push([child, at]);
      }
    }
  }
  return null;
}

/** Deeper JSON than any tracker sends; past it, JSON.stringify, zod and PostgreSQL's parser recurse. */
export const MAX_JSON_DEPTH = 32;

/**
 * JSON.parse for what a device sends, refusing nesting deeper than `MAX_JSON_DEPTH` before parsing:
 * JSON.parse itself copes, but re-serialising the value (the raw log, a redacted copy) overflows the
 * stack at a few thousand levels, and jsonb input recurses in the database. Never throws.
 */
export function parseDeviceJson(text: string): { ok: true; value: unknown } | { ok: false; detail: string } {
  const value = fewOpenings(text) ? undefined : tooDeep(text);
  if (value) return value;
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : "not JSON" };
  }
}

/**
 * At most MAX_JSON_DEPTH brackets that open anything (in strings or not), so no nesting deeper:
 * the character walk below is skipped for nearly every message (indexOf is the engine's own scan).
 */
function fewOpenings(text: string): boolean {
  let n = 0;
  for (let i = text.indexOf("{"); i !== -1; i = text.indexOf("{", i + 1))
    if (++n > MAX_JSON_DEPTH) return false;
  for (let i = text.indexOf("["); i !== -1; i = text.indexOf("[", i + 1))
    if (++n > MAX_JSON_DEPTH) return false;
  return true;
}

function tooDeep(text: string): { ok: false; detail: string } | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH)
        return { ok: false, detail: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/**
 * x as a `real` column holds it: the nearest float4, 0 for -0 (so COPY's binary format and an
 * INSERT's text parameters store the same number), and null for what no float4 holds (an accuracy
 * of 1e39 m says nothing). Values too small for a float4 are 0, as they are to any device.
 */
export function storableReal(x: number | null | undefined): number | null {
  if (x === null || x === undefined) return null;
  const f = Math.fround(x);
  return Number.isFinite(f) ? f + 0 : null;
}

/** A heading in [0, 360) as a `real` column holds it: what rounds up to 360 is north, 0. */
export function storableHeading(x: number | null | undefined): number | null {
  const f = storableReal(x);
  return f !== null && f >= 360 ? 0 : f;
}
