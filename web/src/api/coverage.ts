/**
 * Which console sources call which API operation, found by reading the sources (for
 * operations-coverage.test.ts). The rule, per source file:
 *  - its path literals: every string or template literal that starts with "/" (a path under
 *    /api/v1, written relative as the hand-written client takes it or absolute as the typed client
 *    does); in a template, `${name}` of a `const name = <path literal>` in the same file is put in
 *    place (`${base}/order`), and any other `${…}` stands for one path segment, whatever it is;
 *  - the methods it uses: GET for the typed client's `api.GET(`, the hand-written `get(`, `probe(`,
 *    `getBlob(` and `downloadUrl(`, and an "/api/v1/…" literal (a link or redirect the browser
 *    follows); POST, PUT, PATCH and DELETE for `api.POST(` etc. and for each of those words quoted
 *    in the first argument of a hand-written `send(` (so `send(editing ? "PATCH" : "POST", …)`
 *    counts for both).
 * An operation is called by the file when one of its path literals matches the operation's path
 * (a `{name}` parameter matches `${…}` only; a query string is ignored) and the file uses its
 * method. This reads calls as written, so a screen that builds its path some other way must be
 * kept in this form (or the test says it calls nothing).
 */
export interface Operation {
  id: string;
  method: string;
  path: string;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const ANY = "\u0000";

interface Literal {
  /** The literal's text with each `${…}` replaced by ANY, and its `${…}` expressions in order. */
  text: string;
  holes: string[];
}

/** String and template literals of a source, in order (templates' holes kept as expressions). */
export function literalsIn(source: string): Literal[] {
  const out: Literal[] = [];
  let i = 0;
  const template = (): Literal => {
    let text = "";
    const holes: string[] = [];
    i++; // the opening backquote
    while (i < source.length && source[i] !== "`") {
      if (source[i] === "\\") {
        text += source.slice(i, i + 2);
        i += 2;
      } else if (source.startsWith("${", i)) {
        let depth = 1;
        i += 2;
        const start = i;
        while (i < source.length && depth > 0) {
          if (source[i] === "`") template();
          else if (source[i] === '"' || source[i] === "'") quoted();
          else {
            if (source[i] === "{") depth++;
            if (source[i] === "}") depth--;
            i++;
          }
        }
        holes.push(source.slice(start, i - 1));
        text += ANY;
      } else text += source[i++];
    }
    i++;
    return { text, holes };
  };
  const quoted = (): string => {
    const q = source[i++];
    let text = "";
    while (i < source.length && source[i] !== q && source[i] !== "\n") {
      if (source[i] === "\\") i++;
      text += source[i++];
    }
    i++;
    return text;
  };
  while (i < source.length) {
    const c = source[i];
    if (c === "/" && source[i + 1] === "/")
      i = source.indexOf("\n", i) < 0 ? source.length : source.indexOf("\n", i);
    else if (c === "/" && source[i + 1] === "*")
      i = source.indexOf("*/", i) < 0 ? source.length : source.indexOf("*/", i) + 2;
    else if (c === "`") out.push(template());
    else if (c === '"' || c === "'") out.push({ text: quoted(), holes: [] });
    else i++;
  }
  return out;
}

/** "/tokens/\0" or "/api/v1/tokens/{id}?x" → ["api","v1","tokens",ANY]; relative paths get /api/v1. */
function segments(path: string): string[] {
  const bare = path.split("?")[0] ?? "";
  const abs = bare.startsWith("/api/v1/") || bare === "/api/v1" ? bare : `/api/v1${bare}`;
  return abs
    .split("/")
    .filter((s) => s !== "")
    .map((s) => (s.includes(ANY) || /^\{[^}]+\}$/.test(s) ? ANY : s));
}

/** The API paths a source writes, as segments. */
export function pathsIn(source: string): string[][] {
  const literals = literalsIn(source);
  const consts = new Map<string, Literal>();
  for (const m of source.matchAll(/\bconst\s+([A-Za-z_$][\w$]*)\s*=\s*(?=[`"'])/g)) {
    const at = (m.index ?? 0) + m[0].length;
    const lit = literalsIn(source.slice(at, at + 400))[0];
    if (lit && m[1]) consts.set(m[1], lit);
  }
  const expand = (lit: Literal): string => {
    let k = 0;
    return lit.text.replace(new RegExp(ANY, "g"), () => {
      const hole = (lit.holes[k++] ?? "").trim();
      const named = consts.get(hole);
      return named?.text.startsWith("/") ? expand(named) : ANY;
    });
  };
  return literals
    .map(expand)
    .filter((text) => text.startsWith("/"))
    .map(segments);
}

/** The methods a source uses, by the rule above. */
export function methodsIn(source: string): Set<string> {
  const used = new Set<string>();
  for (const m of source.matchAll(/\bapi\.(GET|POST|PUT|PATCH|DELETE)\(/g)) used.add(m[1] ?? "");
  if (/\b(?:get|probe|getBlob|downloadUrl)\(/.test(source)) used.add("GET");
  // An absolute path that is not the typed client's first argument is a link or a redirect.
  for (const m of source.matchAll(/["`]\/api\/v1\//g))
    if (!/\bapi\.[A-Z]+\(\s*$/.test(source.slice(Math.max(0, (m.index ?? 0) - 40), m.index))) used.add("GET");
  for (const m of source.matchAll(/\bsend\(\s*([^,]*),/g))
    for (const method of METHODS) if ((m[1] ?? "").includes(`"${method}"`)) used.add(method);
  return used;
}

function matches(written: string[], template: string[]): boolean {
  return (
    written.length === template.length &&
    written.every((s, i) => (s === ANY ? true : s === template[i] && !/^\{/.test(template[i] ?? "")))
  );
}

/** The operations of an OpenAPI document. */
export function operationsOf(doc: {
  paths: Record<string, Record<string, { operationId?: string }>>;
}): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => (METHODS as readonly string[]).includes(method.toUpperCase()))
      .map(([method, op]) => ({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
      })),
  );
}

/** For each operation id, the source files that call it. */
export function coverage(operations: Operation[], sources: Record<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>(operations.map((o) => [o.id, []]));
  for (const [file, text] of Object.entries(sources)) {
    const paths = pathsIn(text);
    const methods = methodsIn(text);
    for (const op of operations) {
      const template = op.path.split("/").filter((s) => s !== "");
      if (methods.has(op.method) && paths.some((p) => matches(p, template))) out.get(op.id)?.push(file);
    }
  }
  return out;
}
