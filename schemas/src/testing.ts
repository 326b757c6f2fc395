/**
 * Test helpers (`@vakt/schemas/testing`): fast-check arbitraries for values
 * valid against a JSON Schema (zod's `toJSONSchema` output, or an OpenAPI 3.1
 * document's request schemas), with injection text wherever free text is
 * allowed. Used by the schema property tests and the API fuzzer.
 */
import fc from "fast-check";

/** Text that must be stored and returned as data, never interpreted. */
export const INJECTION_STRINGS = [
  "'; DROP TABLE positions; --",
  "' OR '1'='1",
  "1; SELECT pg_sleep(10)--",
  "$1::text",
  "\\x00\\' \\\\",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "javascript:alert(1)",
  "{{constructor.constructor('alert(1)')()}}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile string, not a template
  "${process.exit(1)}",
  "__proto__",
  "‮evil‬",
  "😀👩‍👩‍👧",
  "Ærlig Øystein Åsen",
];

export type JsonSchema = {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  additionalProperties?: boolean | JsonSchema;
  /** A documented example (zod's `.meta({ example })`), offered beside generated text. */
  example?: unknown;
  examples?: unknown[];
};

const isoDate = fc
  .date({ min: new Date("2000-01-02T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString());

const emailLike = fc
  .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9_+-]{0,20}$/), fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/))
  .map(([local, domain]) => `${local}@${domain}.org`);
const SERVICE_URLS = [
  "postgres://vakt:secret@localhost:5432/vakt",
  "mqtt://localhost:1883",
  "https://vakt.example.org",
  "smtp://localhost:25",
  "redis://localhost:6379",
];

const URL_HINTS: [RegExp, string][] = [
  [/DATABASE/, "postgres://vakt:secret@localhost:5432/vakt"],
  [/MQTT/, "mqtt://localhost:1883"],
  [/REDIS/, "redis://localhost:6379"],
  [/SMTP/, "smtp://localhost:25"],
];

/** A fast-check arbitrary for values valid against a (zod-generated) JSON Schema, as far as JSON Schema can say. */
export function arbitraryOf(
  schema: JsonSchema,
  resolve: (ref: string) => JsonSchema | undefined,
  depth = 0,
  key = "",
): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null);
  const next = (s: JsonSchema, k = key) => arbitraryOf(s, resolve, depth + 1, k);
  if (schema.$ref) {
    const target = resolve(schema.$ref);
    return target ? next(target) : fc.constant(null);
  }
  if ("const" in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((u) => next(u)));
  if (schema.allOf?.[0]) return next(schema.allOf[0]);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => next({ ...schema, type })));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      const min = schema.minimum ?? (schema.exclusiveMinimum ?? -1_000_001) + 1;
      const max = schema.maximum ?? (schema.exclusiveMaximum ?? 1_000_001) - 1;
      return fc.integer({
        min: Math.max(min, Number.MIN_SAFE_INTEGER),
        max: Math.min(max, Number.MAX_SAFE_INTEGER),
      });
    }
    case "number": {
      const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
      const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
      return fc
        .double({ min, max, noNaN: true, noDefaultInfinity: true })
        .filter(
          (n) =>
            (schema.exclusiveMinimum === undefined || n > schema.exclusiveMinimum) &&
            (schema.exclusiveMaximum === undefined || n < schema.exclusiveMaximum),
        );
    }
    case "string":
      return stringOf(schema, key);
    case "array": {
      if (schema.prefixItems) return fc.tuple(...schema.prefixItems.map((p) => next(p)));
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? minLength + 4, minLength + 4);
      return fc.array(schema.items ? next(schema.items) : fc.jsonValue({ maxDepth: 1 }), {
        minLength,
        maxLength,
      });
    }
    case "object": {
      const props = schema.properties ?? {};
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(props)) record[k] = next(s, k);
      const base = fc.record(record, { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
      if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
        const extra = fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }),
          next(schema.additionalProperties),
          {
            maxKeys: 3,
          },
        );
        return fc.tuple(base, extra).map(([b, e]) => ({ ...e, ...b }));
      }
      return base;
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringOf(schema: JsonSchema, key: string): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? Math.max(minLength, 64);
  const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
  switch (schema.format) {
    case "uuid":
      return fc.uuid();
    case "email":
      return emailLike.filter(fits);
    case "date-time":
      return isoDate;
    case "date":
      return isoDate.map((s) => s.slice(0, 10));
    case "time":
      return isoDate.map((s) => s.slice(11, 19));
    case "uri":
    case "url": {
      // A URL's scheme is often pinned by a refinement JSON Schema cannot express; the property name hints it.
      const hinted = URL_HINTS.find(([pattern]) => pattern.test(key));
      if (hinted) return fc.constant(hinted[1]);
      return fc.oneof(fc.webUrl().filter(fits), fc.constantFrom(...SERVICE_URLS.filter(fits)));
    }
    case "ipv4":
      return fc.ipV4();
    case "ipv6":
      return fc.ipV6();
  }
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  }
  // A string the JSON Schema says nothing about may still be refined or piped (an e-mail, a URL, a
  // date): offer plausible shapes beside free and hostile text.
  const plausible = [
    fc.string({ minLength, maxLength: Math.min(maxLength, minLength + 40), unit: "grapheme" }),
    ...(minLength <= 8 && maxLength >= 40 ? [emailLike] : []),
    ...(fits("x".repeat(36)) ? [fc.uuid()] : []),
    ...(fits("x".repeat(24)) ? [isoDate] : []),
    ...(SERVICE_URLS.some(fits) ? [fc.constantFrom(...SERVICE_URLS.filter(fits))] : []),
  ];
  // A schema whose refinement JSON Schema cannot say (a phone number checked by libphonenumber-js)
  // documents what it accepts in its example.
  const documented = [schema.example, ...(schema.examples ?? [])].filter(
    (x): x is string => typeof x === "string" && fits(x),
  );
  if (documented.length > 0) plausible.push(fc.constantFrom(...documented));
  const hostile = INJECTION_STRINGS.filter(fits);
  // Text PostgreSQL cannot hold: a NUL somewhere in otherwise ordinary text.
  // Lengths are chosen so the result always fits: a filter that never passes would spin for ever.
  const textMin = Math.max(0, minLength - 1);
  const unstorable = fc
    .tuple(
      fc.string({ minLength: textMin, maxLength: Math.max(textMin, Math.min(maxLength - 1, textMin + 20)) }),
      fc.nat(),
    )
    .map(([text, at]) => {
      const i = at % (text.length + 1);
      return `${text.slice(0, i)}\u0000${text.slice(i)}`;
    });
  return fc.oneof(
    ...plausible,
    ...(hostile.length ? [fc.constantFrom(...hostile)] : []),
    ...(maxLength >= 1 ? [unstorable] : []),
  );
}
