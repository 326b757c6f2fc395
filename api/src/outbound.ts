/**
 * The one HTTP client for requests the server makes on someone's behalf
 * (webhooks and their ping, the SMS gateway, single sign-on discovery and
 * token calls, the checkpoint receiver). It resolves the name, refuses
 * loopback, private, link-local, CGNAT, unspecified, multicast, reserved and
 * cloud-metadata addresses (also inside IPv4-mapped, NAT64 and 6to4 IPv6
 * forms), and connects to exactly the address it checked, so a name that
 * answers differently a moment later (DNS rebinding) gains nothing. Every
 * redirect hop connects through the same check. Networks listed in
 * OUTBOUND_ALLOW_NETWORKS are let through; metadata addresses never are.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import type { Logger } from "pino";
import { Agent, buildConnector, fetch as undiciFetch } from "undici";
import { ApiError } from "./errors";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Cloud instance-metadata services: refused even inside an allowlisted network. */
const METADATA = [
  "169.254.169.254", // AWS, GCP, Azure, OpenStack, DigitalOcean
  "169.254.170.2", // AWS ECS task metadata
  "169.254.170.23", // AWS EKS pod identity
  "100.100.100.200", // Alibaba Cloud
  "192.0.0.192", // Oracle Cloud
  "fd00:ec2::254", // AWS IPv6
  "fd00:ec2::23", // AWS EKS pod identity IPv6
].map((a) => ipaddr.parse(a).toNormalizedString());

/** Ranges ipaddr.js calls unicast that still are not the public internet. */
const ALSO_REFUSED: [Address, number][] = [
  ipaddr.parseCIDR("::/96"), // IPv4-compatible (deprecated)
];

export class OutboundRefusedError extends Error {
  readonly code = "OUTBOUND_REFUSED";
  constructor(
    readonly host: string,
    readonly address: string | null,
    readonly why: string,
  ) {
    super(
      `refused: ${address && address !== host ? `${host} resolves to ${address}, ` : `${host} is `}${why}` +
        (why.startsWith("a cloud metadata")
          ? ""
          : " (a site may allow a network with OUTBOUND_ALLOW_NETWORKS)"),
    );
    this.name = "OutboundRefusedError";
  }
}

/** The refusal behind an error, looking through fetch's `TypeError("fetch failed", { cause })` wrapping. */
export function refusalOf(err: unknown): OutboundRefusedError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof OutboundRefusedError) return e;
  return undefined;
}

export type AllowList = readonly [Address, number][];

/** `10.0.0.0/8,127.0.0.1/32` (or an array of such) into networks; throws on a bad entry. */
export function parseAllowList(networks: string | readonly string[] | undefined): AllowList {
  const list = typeof networks === "string" ? networks.split(",") : (networks ?? []);
  return list
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [addr, bits] = ipaddr.parseCIDR(s);
      // An IPv4-mapped network allows the IPv4 addresses it maps.
      if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
        return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96] as [Address, number];
      return [addr, bits] as [Address, number];
    });
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64 64:ff9b::/96, 6to4), if any. */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = a.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (a.isIPv4MappedAddress()) return a.toIPv4Address();
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0)
    return v4(p[6] as number, p[7] as number);
  if (p[0] === 0x2002) return v4(p[1] as number, p[2] as number);
  return undefined;
}

const WHY: Record<string, string> = {
  unspecified: "an unspecified address",
  broadcast: "a broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT (shared) address",
  private: "a private (RFC 1918) address",
  uniqueLocal: "a unique-local (fc00::/7) address",
  reserved: "a reserved address",
};

/** Why an address may not be connected to, or null when it may. */
export function refusalReason(address: string, allow: AllowList = []): string | null {
  let a: Address;
  try {
    a = ipaddr.parse(address.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  } catch {
    return "not an IP address";
  }
  if (METADATA.includes(a.toNormalizedString())) return "a cloud metadata address";
  if (a.kind() === "ipv6") {
    const inner = embeddedIPv4(a as ipaddr.IPv6);
    if (inner) {
      if (METADATA.includes(inner.toNormalizedString())) return "a cloud metadata address";
      const why = refusalReason(inner.toString(), allow);
      return why ? `${why} (inside an IPv6 address)` : null;
    }
  }
  if (allow.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits))) return null;
  const range = a.range();
  if (range !== "unicast") return WHY[range] ?? `a special-purpose address (${range})`;
  if (ALSO_REFUSED.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits)))
    return "an IPv4-compatible IPv6 address";
  return null;
}

/** Hostnames that are loopback by definition (RFC 6761), whatever DNS says. */
function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

/**
 * What can be said of a URL without asking DNS: its host is a literal
 * address (in any spelling the URL parser accepts) that is refused, or a
 * localhost name. For checks when a URL is saved; sending checks again.
 */
export function literalRefusal(url: string, allow: AllowList = []): string | null {
  const u = URL.parse(url);
  if (!u) return "not a URL";
  if (u.protocol !== "http:" && u.protocol !== "https:") return "only http and https";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    const why = refusalReason(host, allow);
    return why ? new OutboundRefusedError(u.hostname, null, why).message : null;
  }
  if (isLocalhostName(host) && refusalReason("127.0.0.1", allow))
    return new OutboundRefusedError(u.hostname, null, "a loopback name").message;
  return null;
}

export type Resolve = (hostname: string) => Promise<string[]>;

const systemResolve: Resolve = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((r) => r.address);

export interface OutboundHttp {
  /** fetch through the guard; a refusal rejects with a TypeError whose cause is an OutboundRefusedError. */
  fetch: typeof globalThis.fetch;
  allow: AllowList;
  close(): Promise<void>;
}

export interface OutboundOptions {
  allow?: AllowList;
  /** Name resolution; the system resolver by default (tests give a fake DNS). */
  resolve?: Resolve;
  logger?: Logger;
  connectTimeoutMs?: number;
}

/** Resolves a host and checks every address it has; answers the one to connect to. */
export async function checkedAddress(hostname: string, options: OutboundOptions = {}): Promise<string> {
  const allow = options.allow ?? [];
  const host = hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    const why = refusalReason(host, allow);
    if (why) throw new OutboundRefusedError(hostname, host, why);
    return host;
  }
  if (isLocalhostName(host)) {
    const why = refusalReason("127.0.0.1", allow);
    if (why) throw new OutboundRefusedError(hostname, null, "a loopback name");
  }
  const addresses = await (options.resolve ?? systemResolve)(host);
  if (addresses.length === 0) throw new Error(`${hostname} has no address`);
  // Any refused answer refuses the name: a mix of public and private answers is someone's trick.
  for (const address of addresses) {
    const why = refusalReason(address, allow);
    if (why) throw new OutboundRefusedError(hostname, address, why);
  }
  return addresses[0] as string;
}

export function createOutboundHttp(options: OutboundOptions = {}): OutboundHttp {
  const allow = options.allow ?? [];
  const connect = buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 });
  const dispatcher = new Agent({
    connect(opts, callback) {
      checkedAddress(opts.hostname, options).then(
        // Connect to the checked address; TLS still verifies the name (servername comes from `host`).
        (address) => connect({ ...opts, hostname: address }, callback),
        (err: unknown) => {
          if (err instanceof OutboundRefusedError)
            options.logger?.warn(
              { host: err.host, address: err.address, reason: err.why },
              "outbound request refused",
            );
          callback(err as Error, null);
        },
      );
    },
  });
  const guarded = ((input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    })) as unknown as typeof globalThis.fetch;
  return { fetch: guarded, allow, close: () => dispatcher.close() };
}

const byConfig = new WeakMap<object, OutboundHttp>();

/**
 * The guarded client for a set of dependencies: theirs when given, else one
 * per configuration object built from its OUTBOUND_ALLOW_NETWORKS.
 */
export function outboundOf(deps: {
  outbound?: OutboundHttp | undefined;
  config: { OUTBOUND_ALLOW_NETWORKS?: readonly string[] | undefined };
  logger?: Logger;
}): OutboundHttp {
  if (deps.outbound) return deps.outbound;
  let http = byConfig.get(deps.config);
  if (!http) {
    http = createOutboundHttp({
      allow: parseAllowList(deps.config.OUTBOUND_ALLOW_NETWORKS),
      ...(deps.logger ? { logger: deps.logger.child({ component: "outbound" }) } : {}),
    });
    byConfig.set(deps.config, http);
  }
  return http;
}

/**
 * Save-time check of a URL the server will later request (a webhook, an
 * issuer): a literal refused address is a 400 problem naming the field.
 * Names are resolved, and checked again, only when sending.
 */
export function assertOutboundUrl(deps: Parameters<typeof outboundOf>[0], url: string, field: string): void {
  const why = literalRefusal(url, outboundOf(deps).allow);
  if (why)
    throw new ApiError("validation_failed", "The server may not send requests to this address.", {
      errors: [{ path: field, message: why }],
    });
}
