/** docker-compose.yml read as data, for the deployment checks and the production smoke test. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const repoRoot = join(import.meta.dirname, "../..");

/** docker compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}; $$ is a literal $. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value
    .replace(
      /\$\{([A-Z0-9_]+)(?::([-?])((?:[^{}]|\{[^{}]*\})*))?\}/g,
      (_, name: string, op?: string, arg?: string) => {
        const v = env[name];
        if (v !== undefined && v !== "") return v;
        if (op === "?") throw new Error(`${name} is required: ${arg}`);
        return op === "-" ? (arg ?? "") : "";
      },
    )
    .replaceAll("$$", "$");
}

export interface ComposeService {
  environment?: Record<string, string>;
  command?: string[];
  healthcheck?: { test: string[] };
}

/** The services of docker-compose.yml (anchors merged), as compose reads them. */
export function composeServices(file = "docker-compose.yml"): Record<string, ComposeService> {
  return parse(readFileSync(join(repoRoot, file), "utf8"), { merge: true }).services;
}

/** One service's environment, interpolated with an operator's .env. */
export function composeEnv(service: string, siteEnv: Record<string, string>): Record<string, string> {
  const env = composeServices()[service]?.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), siteEnv)]));
}
