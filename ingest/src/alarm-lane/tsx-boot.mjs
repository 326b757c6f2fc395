// The alarm lane's worker thread from the TypeScript sources (vitest, `node --import tsx`): a worker
// does not inherit the loader its parent runs under, so this registers tsx for the worker's own
// imports and loads worker.ts through it. The bundle (dist/) starts alarm-lane-worker.js instead.
import { tsImport } from "tsx/esm/api";

await tsImport("./worker.ts", import.meta.url);
