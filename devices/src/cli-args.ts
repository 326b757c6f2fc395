/** Command-line arguments of `npm run sim`, parsed with util.parseArgs and validated with zod. */
import { parseArgs } from "node:util";
import { z } from "zod";
import { townCentre } from "./generate";
import { malformedKind } from "./malformed";
import { parseDuration } from "./scenario";

export const usage = `Usage: npm run sim -w @vakt/devices -- [options]

Devices (one of):
  --devices <N|file>      N generated devices, or a devices file [{serial, secret, home:{lat,lon}}]
  --generate <N>          N generated devices (serials SIM-000001...; for brokers without credentials)
  --scenario <file>       play a scripted scenario (its own devices; credentials from --devices <file>)
  --centre <lat,lon[,m]>  town centre for generated homes (repeatable; default Oslo, Bergen, Trondheim, Tromsø)
  --write-devices <file>  write the generated list and exit (to provision the same devices first)

Run:
  --url <mqtt url>        broker (default $MQTT_URL or mqtt://localhost:1883)
  --seed <n>              random seed (default: time)
  --speed <x>             simulated time runs x times faster (default 1)
  --duration <d>          stop this much simulated time after all connected, e.g. 10m (default: Ctrl-C)
  --connect-rate <n>      new connections per second (default 200)
  --mqtt5                 MQTT 5 instead of 3.1.1

Behaviour:
  --tracking <s>          tracking on, a position every s seconds (default: positions only with heartbeats)
  --rate <n>              tracking tuned to about n positions per second over all devices
  --heartbeat <s>         status interval (default 900)
  --sos-per-hour <r>  --fall-per-hour <r>  --fall-cancel-rate <0-1>  --wander-per-hour <r>
  --geofence-m <m>  --silence-per-hour <r>  --skew-rate <0-1>  --redelivery-rate <0-1>
  --malformed-rate <0-1>  --malformed-kinds <k,k>  (${malformedKind.options.join(", ")})

Output:
  --progress <s>          progress line every s seconds on stderr (default 5, 0: off)
  --json                  print the summary as JSON on stdout
  --log-level <level>     pino level for stderr logs (default info)
  --help`;

const num = (schema: z.ZodNumber) => z.coerce.number().pipe(schema).optional();
const durationText = z
  .string()
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `not a duration: ${text}` });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

const centreText = z.string().transform((text, ctx) => {
  const parts = text.split(",").map((p) => Number(p.trim()));
  const parsed = townCentre.safeParse({ lat: parts[0], lon: parts[1], radiusM: parts[2] });
  if (parts.length < 2 || parts.length > 3 || !parsed.success) {
    ctx.addIssue({ code: "custom", message: `not a centre "lat,lon[,radiusM]": ${text}` });
    return z.NEVER;
  }
  return parsed.data;
});

export const cliArgs = z
  .strictObject({
    devices: z.string().optional(),
    generate: num(z.number().int().min(1).max(100_000)),
    scenario: z.string().optional(),
    centre: z.array(centreText).optional(),
    "write-devices": z.string().optional(),
    url: z
      .string()
      .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, "an mqtt:// (or mqtts://, ws://) URL")
      .optional(),
    seed: num(z.number().int().min(0).max(4_294_967_295)),
    speed: num(z.number().positive().max(100_000)),
    duration: durationText,
    "connect-rate": num(z.number().positive().max(10_000)),
    mqtt5: z.boolean().optional(),
    tracking: num(z.number().positive()),
    rate: num(z.number().positive()),
    heartbeat: num(z.number().positive()),
    "sos-per-hour": num(z.number().min(0)),
    "fall-per-hour": num(z.number().min(0)),
    "fall-cancel-rate": num(z.number().min(0).max(1)),
    "wander-per-hour": num(z.number().min(0)),
    "geofence-m": num(z.number().positive()),
    "silence-per-hour": num(z.number().min(0)),
    "skew-rate": num(z.number().min(0).max(1)),
    "redelivery-rate": num(z.number().min(0).max(1)),
    "malformed-rate": num(z.number().min(0).max(1)),
    "malformed-kinds": z
      .string()
      .transform((s) => s.split(",").map((k) => k.trim()))
      .pipe(z.array(malformedKind).min(1))
      .optional(),
    progress: num(z.number().min(0)),
    json: z.boolean().optional(),
    "log-level": z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
    help: z.boolean().optional(),
  })
  .superRefine((a, ctx) => {
    const count = a.devices !== undefined && /^\d+$/.test(a.devices);
    if (a.generate !== undefined && a.devices !== undefined && count) {
      ctx.addIssue({ code: "custom", message: "give either --generate N or --devices N" });
    }
    if (!a.help && a.scenario === undefined && a.devices === undefined && a.generate === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "which devices? --devices <N|file>, --generate <N> or --scenario <file>",
      });
    }
    if (a.tracking !== undefined && a.rate !== undefined) {
      ctx.addIssue({ code: "custom", message: "give either --tracking or --rate" });
    }
  });
export type CliArgs = z.output<typeof cliArgs>;

const booleans = new Set(["mqtt5", "json", "help"]);

/** Parses argv (without node and script); throws with a readable message. */
export function parseCli(argv: string[]): CliArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: Object.fromEntries(
      [
        "devices",
        "generate",
        "scenario",
        "centre",
        "write-devices",
        "url",
        "seed",
        "speed",
        "duration",
        "connect-rate",
        "mqtt5",
        "tracking",
        "rate",
        "heartbeat",
        "sos-per-hour",
        "fall-per-hour",
        "fall-cancel-rate",
        "wander-per-hour",
        "geofence-m",
        "silence-per-hour",
        "skew-rate",
        "redelivery-rate",
        "malformed-rate",
        "malformed-kinds",
        "progress",
        "json",
        "log-level",
        "help",
      ].map((name) => [
        name,
        booleans.has(name)
          ? { type: "boolean" as const }
          : { type: "string" as const, ...(name === "centre" ? { multiple: true } : {}) },
      ]),
    ),
  });
  const parsed = cliArgs.safeParse(values);
  if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
  return parsed.data;
}
