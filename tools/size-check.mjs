#!/usr/bin/env node
// Size check (run by `npm run lint` and `npm test`): a TypeScript source file (not a test, not
// generated) may have at most 400 lines and a function at most 80, unless the file's first lines say
// why it is one unit: `// size: <one-line reason>`. Offenders that were there when the check came
// are listed in tools/size-baseline.json and may only shrink: the check fails when a listed file or
// function grows past its recorded size, or a new one goes over. Sizes are lines from the first to
// the last line of the file or function (a function's lines include functions nested in it).
//
//   node tools/size-check.mjs            check, print the counts
//   node tools/size-check.mjs --update   lower the baseline to what is there now (never raises it)
//   node tools/size-check.mjs --json     the measurements, for a look at the biggest
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;
const REASON_WITHIN_LINES = 5;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const baselinePath = join(root, "tools", "size-baseline.json");

/** Source, not tests (nor their helpers in test/ and testing/), declarations or generated code. */
export function isSource(path) {
  if (!/\.(ts|tsx|mts|cts)$/.test(path) || /\.d\.[mc]?ts$/.test(path)) return false;
  if (/\.(test|spec|bench)\.[mc]?tsx?$/.test(path) || /\.generated\./.test(path)) return false;
  return !path
    .split("/")
    .some((part) => ["node_modules", "dist", "test", "testing", "e2e", "__tests__"].includes(part));
}

/** The `// size: reason` of a file's first lines, or undefined. */
export function sizeReason(text) {
  for (const line of text.split("\n", REASON_WITHIN_LINES)) {
    const m = /^\s*\/\/\s*size:\s*(\S.*)$/.exec(line);
    if (m) return m[1].trim();
  }
  return undefined;
}

const isFunction = (n) =>
  ts.isFunctionDeclaration(n) ||
  ts.isFunctionExpression(n) ||
  ts.isArrowFunction(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessorDeclaration(n) ||
  ts.isSetAccessorDeclaration(n);

/** What a reader calls a function: its name, the variable or property it is assigned to, the call it is passed to. */
function nameOf(n) {
  if (ts.isConstructorDeclaration(n)) return "constructor";
  if (n.name && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name) || ts.isPrivateIdentifier(n.name)))
    return n.name.text;
  const p = n.parent;
  if (
    p &&
    (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) &&
    p.name
  )
    return ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : "<computed>";
  if (p && ts.isCallExpression(p)) {
    const callee = p.expression;
    const called = ts.isPropertyAccessExpression(callee)
      ? callee.name.text
      : ts.isIdentifier(callee)
        ? callee.text
        : "call";
    return `${called}(callback)`;
  }
  return "<anonymous>";
}

/**
 * Lines of a file and of each function in it, named by their enclosing names (`outer > inner`). A
 * function inside one already over the limit is not listed: the outer one is the thing to split
 * (and anonymous callbacks' names, numbered in source order, would shift with every edit).
 */
export function measure(path, text) {
  const source = ts.createSourceFile(
    path,
    text,
    ts.ScriptTarget.Latest,
    true,
    path.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const lineOf = (pos) => source.getLineAndCharacterOfPosition(pos).line;
  const functions = [];
  const seen = new Map();
  const visit = (node, scope) => {
    let inner = scope;
    if (isFunction(node) && !scope.over) {
      const name = [...scope, nameOf(node)].join(" > ");
      // Same name twice in a file (two anonymous callbacks): numbered in source order.
      const k = (seen.get(name) ?? 0) + 1;
      seen.set(name, k);
      const key = k === 1 ? name : `${name} #${k}`;
      const lines = lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1;
      functions.push({ name: key, lines });
      inner = Object.assign([...scope, nameOf(node)], { over: lines > MAX_FUNCTION_LINES });
    } else if (ts.isClassDeclaration(node) && node.name) {
      inner = Object.assign([...scope, node.name.text], { over: scope.over });
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, []);
  const lines = text.length === 0 ? 0 : text.replace(/\n$/, "").split("\n").length;
  return { lines, functions };
}

function trackedFiles() {
  return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\n")
    .filter((p) => p && isSource(p));
}

/** Every offender now: files over the limit and functions over it, except in files that give a reason. */
export function offenders(files, read) {
  const out = { files: {}, functions: {}, reasoned: [] };
  for (const path of files) {
    let text;
    try {
      text = read(path);
    } catch {
      continue; // deleted in the worktree, not yet in the index
    }
    const m = measure(path, text);
    const long = m.functions.filter((f) => f.lines > MAX_FUNCTION_LINES);
    if (m.lines <= MAX_FILE_LINES && long.length === 0) continue;
    const reason = sizeReason(text);
    if (reason) {
      out.reasoned.push({ path, reason });
      continue;
    }
    if (m.lines > MAX_FILE_LINES) out.files[path] = m.lines;
    for (const f of long) out.functions[`${path} :: ${f.name}`] = f.lines;
  }
  return out;
}

/** Growth and newcomers against the baseline (failures), and entries that could shrink (hints). */
export function compare(now, baseline) {
  const failures = [];
  const shrinkable = [];
  for (const kind of ["files", "functions"]) {
    const limit = kind === "files" ? MAX_FILE_LINES : MAX_FUNCTION_LINES;
    const base = baseline[kind] ?? {};
    for (const [key, lines] of Object.entries(now[kind])) {
      if (!(key in base))
        failures.push(
          `${key}: ${lines} lines, over ${limit} (new; split it, or give the file a \`// size:\` reason)`,
        );
      else if (lines > base[key])
        failures.push(`${key}: ${lines} lines, grew from ${base[key]} (the baseline may only shrink)`);
      else if (lines < base[key]) shrinkable.push(`${key}: ${base[key]} -> ${lines}`);
    }
    for (const key of Object.keys(base))
      if (!(key in now[kind])) shrinkable.push(`${key}: now within ${limit}`);
  }
  return { failures, shrinkable };
}

function main(args) {
  const files = trackedFiles();
  const now = offenders(files, (p) => readFileSync(join(root, p), "utf8"));
  if (args.includes("--json")) {
    console.log(JSON.stringify(now, null, 2));
    return 0;
  }
  const baseline = JSON.parse(readFileSync(baselinePath, "utf8"));
  const { failures, shrinkable } = compare(now, baseline);
  if (args.includes("--update")) {
    if (failures.length > 0) {
      for (const f of failures) console.error(`size: ${f}`);
      console.error("size: --update only lowers the baseline; fix the above first");
      return 1;
    }
    const next = {
      comment: baseline.comment,
      files: Object.fromEntries(Object.entries(now.files).sort()),
      functions: Object.fromEntries(Object.entries(now.functions).sort()),
    };
    writeFileSync(baselinePath, `${JSON.stringify(next, null, 2)}\n`);
    console.log(`size: baseline lowered (${shrinkable.length} entries)`);
    return 0;
  }
  for (const f of failures) console.error(`size: ${f}`);
  const count = (o) => Object.keys(o).length;
  console.log(
    `size: ${files.length} source files; over ${MAX_FILE_LINES} lines: ${count(now.files)} files (baseline ${count(baseline.files)}); ` +
      `functions over ${MAX_FUNCTION_LINES} lines: ${count(now.functions)} (baseline ${count(baseline.functions)}); ` +
      `files with a size reason: ${now.reasoned.length}`,
  );
  if (shrinkable.length > 0)
    console.log(
      `size: ${shrinkable.length} baseline entries can shrink: run \`node tools/size-check.mjs --update\``,
    );
  return failures.length > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main(process.argv.slice(2));
