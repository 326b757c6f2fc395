/**
 * The production smoke test's services as containers of the built images instead of `node`
 * processes, when `tools/image-check.sh` asks for it: VAKT_SMOKE_IMAGE_API and
 * VAKT_SMOKE_IMAGE_INGEST name the images (the Dockerfile's `api` and `ingest` targets), and
 * VAKT_SMOKE_CONTAINER the engine's command (default `podman`). Each container shares the host's
 * network, so the test's 127.0.0.1 ports are the same ones; the test's work folder is mounted at
 * its own path, so credentials and checkpoint files are where the test looks.
 */
import { spawnSync } from "node:child_process";

export interface ImageMode {
  engine: string[];
  /** The image for a compose service (broker-auth runs the ingest image, as compose builds it). */
  imageFor(service: string): string | undefined;
}

export function imageModeFromEnv(env: NodeJS.ProcessEnv = process.env): ImageMode | undefined {
  const api = env.VAKT_SMOKE_IMAGE_API;
  const ingest = env.VAKT_SMOKE_IMAGE_INGEST;
  if (!api && !ingest) return undefined;
  if (!api || !ingest) throw new Error("VAKT_SMOKE_IMAGE_API and VAKT_SMOKE_IMAGE_INGEST go together");
  const engine = (env.VAKT_SMOKE_CONTAINER ?? "podman").split(" ").filter(Boolean);
  const images: Record<string, string> = { api, ingest, "broker-auth": ingest };
  return { engine, imageFor: (service) => images[service] };
}

/**
 * `<engine> run` for a compose service: its command, its environment (nothing of the host's, not
 * even PATH: the image has its own), the user compose gives it, the work folder mounted.
 */
export function containerRunArgs(
  mode: ImageMode,
  o: {
    service: string;
    name: string;
    command: string[];
    env: Record<string, string>;
    mount: string;
    user?: string;
  },
): string[] {
  const image = mode.imageFor(o.service);
  if (!image) throw new Error(`no image for ${o.service}`);
  const env = Object.entries(o.env)
    .filter(([k]) => k !== "PATH")
    .flatMap(([k, v]) => ["--env", `${k}=${v}`]);
  return [
    ...mode.engine.slice(1),
    "run",
    "--rm",
    "--name",
    o.name,
    "--network",
    "host",
    // The engine runs the HEALTHCHECK when the test asks (healthcheck()), not on a timer of its own.
    "--health-interval",
    "disable",
    "--volume",
    `${o.mount}:${o.mount}`,
    ...(o.user ? ["--user", o.user] : []),
    ...env,
    image,
    ...o.command,
  ];
}

/** One command of the engine (`podman run …`, `podman rm …`), waited for. */
function engineRun(mode: ImageMode, args: string[]) {
  return spawnSync(mode.engine[0] as string, [...mode.engine.slice(1), ...args], { encoding: "utf8" });
}

/** Runs a shell script inside an image (as the image's own user) and returns what it printed. */
export function inImage(
  mode: ImageMode,
  image: string,
  script: string,
): { status: number | null; out: string; stderr?: string } {
  const r = engineRun(mode, ["run", "--rm", "--no-healthcheck", "--entrypoint", "sh", image, "-c", script]);
  // Only the script's own output: the engine's warnings go to stderr.
  return { status: r.status, out: r.stdout, ...(r.stderr ? { stderr: r.stderr } : {}) };
}

/** The engine's own verdict on a running container's HEALTHCHECK (0: healthy). */
export function healthcheck(mode: ImageMode, name: string): { status: number | null; out: string } {
  const r = engineRun(mode, ["healthcheck", "run", name]);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export function removeContainer(mode: ImageMode, name: string): void {
  engineRun(mode, ["rm", "--force", "--ignore", name]);
}
