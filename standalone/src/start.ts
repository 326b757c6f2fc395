/**
 * `npm start`: builds the console when its sources changed since the last
 * build (see console-build.ts), then runs the stack (main.ts). One Node
 * process, so Ctrl-C reaches the stack's own shutdown.
 */
import { ensureConsoleBuilt } from "./console-build";

try {
  await ensureConsoleBuilt();
} catch (err) {
  console.error(`vakt: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
await import("./main");
