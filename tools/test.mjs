#!/usr/bin/env node
// npm test, after the size check: the builds once, then two lanes side by side until both are
// done. The console's suite (its unit tests, then the end-to-end tests in Chromium: the longest of
// all, about six minutes) runs in a lane of its own from the start; lint and typecheck of every
// package, then every other package's tests, run one after another in the other. Left to turbo's
// own two slots, the console's suite was started last, behind the API's and ingest's, and the run
// took the sum of the longest chains rather than the longer of two lanes. `--only`: the builds are
// done, and a lane rebuilding web/dist while the other serves it would race. Exit code: the first
// failing lane's, else 0.
import { spawn } from "node:child_process";

const turbo = (args) =>
  new Promise((resolve) => {
    const child = spawn("npx", ["turbo", "run", ...args], { stdio: "inherit" });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const built = await turbo(["build"]);
if (built !== 0) process.exit(built);
const lanes = await Promise.all([
  turbo(["test", "--filter=@vakt/web", "--only", "--concurrency=1"]),
  (async () => {
    const checked = await turbo(["lint", "typecheck", "--only", "--concurrency=1"]);
    const tested = await turbo(["test", "--filter=!@vakt/web", "--only", "--concurrency=1"]);
    return checked !== 0 ? checked : tested;
  })(),
]);
process.exit(lanes.find((code) => code !== 0) ?? 0);
