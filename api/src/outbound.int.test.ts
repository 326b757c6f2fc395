/**
 * The outbound guard (issue 15, item 4) against a real HTTP server on
 * 127.0.0.1: refused by default, reached when the site allows the network,
 * every spelling of a refused address refused, names checked after DNS and
 * connected to the address that was checked, redirects checked per hop.
 * Real connections go only to loopback; other ranges are checked without
 * connecting.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkedAddress,
  createOutboundHttp,
  literalRefusal,
  OutboundRefusedError,
  parseAllowList,
  refusalOf,
  refusalReason,
} from "./outbound";

let server: Server;
let port: number;
const hits: IncomingMessage[] = [];
/** Where the server redirects `/redirect` to. */
let redirectTo = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req);
    req.resume();
    if (req.url === "/redirect") res.writeHead(302, { location: redirectTo }).end();
    // A fresh connection per request, so every request is resolved and checked anew.
    else res.writeHead(200, { connection: "close" }).end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const LOOPBACK_ONLY = parseAllowList("127.0.0.1/32");

/** Runs a request and answers the refusal it met (or fails the test if it was not refused). */
async function refusal(promise: Promise<unknown>): Promise<OutboundRefusedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  const refused = refusalOf(err);
  if (!refused) throw new Error(`expected a refusal, got ${err === undefined ? "an answer" : String(err)}`);
  return refused;
}

// --- generated spellings ----------------------------------------------------

type Octets = [number, number, number, number];
const byte = fc.integer({ min: 0, max: 255 });
/** IPv4 addresses in every refused range. */
const refusedV4: fc.Arbitrary<Octets> = fc.oneof(
  fc.tuple(fc.constant(127), byte, byte, byte),
  fc.tuple(fc.constant(10), byte, byte, byte),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), byte, byte),
  fc.tuple(fc.constant(192), fc.constant(168), byte, byte),
  fc.tuple(fc.constant(169), fc.constant(254), byte, byte),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), byte, byte),
  fc.tuple(fc.constant(0), byte, byte, byte),
  fc.tuple(fc.integer({ min: 224, max: 255 }), byte, byte, byte),
) as fc.Arbitrary<Octets>;

const hex = (n: number) => n.toString(16);
const int32 = (o: Octets) => ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
const hextets = (o: Octets) => [hex((o[0] << 8) + o[1]), hex((o[2] << 8) + o[3])];

/** Host spellings of one IPv4 address that a URL parser accepts. */
const spellV4 = (o: Octets): fc.Arbitrary<string> =>
  fc.constantFrom(
    o.join("."),
    `${o.join(".")}.`,
    String(int32(o)),
    `0x${hex(int32(o))}`,
    `0X${hex(int32(o)).toUpperCase()}`,
    o.map((n) => `0${n.toString(8)}`).join("."),
    o.map((n) => `0x${hex(n)}`).join("."),
    `${o[0]}.${o[1]}.${(o[2] << 8) + o[3]}`,
    `${o[0]}.${(o[1] << 16) + (o[2] << 8) + o[3]}`,
    `${o.slice(0, 3).join(".")}.0x${hex(o[3])}`,
    `%3${String(o[0])[0]}${String(o[0]).slice(1)}.${o.slice(1).join(".")}`,
    `[::ffff:${o.join(".")}]`,
    `[::FFFF:${hextets(o).join(":")}]`,
    `[0:0:0:0:0:ffff:${o.join(".")}]`,
    `[0000:0000:0000:0000:0000:ffff:${hextets(o).join(":")}]`,
    `[64:ff9b::${o.join(".")}]`,
    `[2002:${hextets(o).join(":")}::1]`,
    `[::${o.join(".")}]`,
  );

const hextet = fc.integer({ min: 0, max: 0xffff }).map(hex);
/** IPv6 literals in refused ranges, compressed and not. */
const refusedV6: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("::1", "0:0:0:0:0:0:0:1", "0000::0001", "::0:1", "::", "0::0"),
  fc
    .tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), fc.array(hextet, { minLength: 1, maxLength: 4 }))
    .map(([a, rest]) => `${hex(a)}::${rest.join(":")}`),
  fc
    .tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), fc.array(hextet, { minLength: 7, maxLength: 7 }))
    .map(([a, rest]) => [hex(a), ...rest].join(":")),
  fc.tuple(fc.integer({ min: 0xff00, max: 0xffff }), hextet).map(([a, b]) => `${hex(a)}::${b}`),
);

const wrap = (host: string): fc.Arbitrary<string> =>
  fc
    .record({
      scheme: fc.constantFrom("http", "https", "HTTP"),
      userinfo: fc.constantFrom("", "x@", "user:pass@", "example.org@"),
      port: fc.constantFrom("", ":80", ":8080", `:${port || 1}`),
      path: fc.constantFrom("/", "/hook", "/a?b=c#d"),
    })
    .map((p) => `${p.scheme}://${p.userinfo}${host}${p.port}${p.path}`);

const refusedUrl = fc.oneof(
  refusedV4.chain(spellV4).chain(wrap),
  refusedV6.map((a) => `[${a}]`).chain(wrap),
  fc.constantFrom("localhost", "LOCALHOST.", "api.localhost", "[::ffff:169.254.169.254]").chain(wrap),
);

describe("outbound guard", () => {
  it("refuses a server on 127.0.0.1 with a reason, and reaches it when the network is allowed", async () => {
    const url = `http://127.0.0.1:${port}/hook`;
    const before = hits.length;
    const refused = await refusal(createOutboundHttp().fetch(url, { method: "POST", body: "{}" }));
    expect(refused.message).toBe(
      "refused: 127.0.0.1 is a loopback address (a site may allow a network with OUTBOUND_ALLOW_NETWORKS)",
    );
    expect(hits.length).toBe(before);
    const res = await createOutboundHttp({ allow: LOOPBACK_ONLY }).fetch(url, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
    expect(hits.length).toBe(before + 1);
  });

  it("refuses every generated spelling of a refused address, saved or sent", async () => {
    await fc.assert(
      fc.asyncProperty(refusedUrl, async (url) => {
        expect(literalRefusal(url), url).toMatch(/^refused: /);
        const host = new URL(url).hostname;
        const err = await checkedAddress(host, { resolve: async () => ["127.0.0.1"] }).catch((e) => e);
        expect(err, url).toBeInstanceOf(OutboundRefusedError);
      }),
      { numRuns: 400 },
    );
  });

  it("refuses, through real requests, every generated spelling of this machine's address", async () => {
    const loopback = fc
      .oneof(
        spellV4([127, 0, 0, 1]),
        fc.constantFrom("[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:7f00:1]", "[::ffff:127.0.0.1]"),
      )
      .map((host) => `http://${host}:${port}/spelled`);
    const http = createOutboundHttp();
    const before = hits.length;
    await fc.assert(
      fc.asyncProperty(loopback, async (url) => {
        const refused = await refusal(http.fetch(url));
        expect(refused.why, url).toMatch(/loopback|IPv4-compatible/);
      }),
      { numRuns: 60 },
    );
    expect(hits.length).toBe(before);
    await http.close();
  });

  it("lets public addresses through and refuses the rest by range", () => {
    for (const a of ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888", "2a00:1450::1"])
      expect(refusalReason(a), a).toBeNull();
    const cases: [string, RegExp][] = [
      ["127.0.0.1", /loopback/],
      ["10.1.2.3", /private/],
      ["172.31.255.255", /private/],
      ["192.168.0.1", /private/],
      ["169.254.10.10", /link-local/],
      ["100.64.0.1", /carrier-grade NAT/],
      ["0.0.0.0", /unspecified/],
      ["224.0.0.1", /multicast/],
      ["255.255.255.255", /broadcast/],
      ["::1", /loopback/],
      ["::", /unspecified/],
      ["fe80::1", /link-local/],
      ["fd12:3456::1", /unique-local/],
      ["ff02::1", /multicast/],
      ["::ffff:10.0.0.1", /private .*\(inside an IPv6 address\)/],
      ["64:ff9b::a00:1", /private .*\(inside an IPv6 address\)/],
      ["2002:c0a8:1::1", /private .*\(inside an IPv6 address\)/],
      ["::7f00:1", /IPv4-compatible/],
      ["169.254.169.254", /cloud metadata/],
      ["100.100.100.200", /cloud metadata/],
      ["fd00:ec2::254", /cloud metadata/],
      ["::ffff:169.254.169.254", /cloud metadata/],
    ];
    for (const [a, why] of cases) expect(refusalReason(a), a).toMatch(why);
  });

  it("allows listed networks but never a metadata address inside them", () => {
    const allow = parseAllowList("10.0.0.0/8, 169.254.0.0/16 ,fd00::/8,::ffff:192.168.1.0/120");
    expect(refusalReason("10.20.30.40", allow)).toBeNull();
    expect(refusalReason("::ffff:10.20.30.40", allow)).toBeNull();
    expect(refusalReason("192.168.1.7", allow)).toBeNull();
    expect(refusalReason("192.168.2.7", allow)).toMatch(/private/);
    expect(refusalReason("169.254.1.1", allow)).toBeNull();
    expect(refusalReason("fd00::1", allow)).toBeNull();
    expect(refusalReason("169.254.169.254", allow)).toMatch(/cloud metadata/);
    expect(refusalReason("fd00:ec2::254", allow)).toMatch(/cloud metadata/);
    expect(refusalReason("11.0.0.1", allow)).toBeNull();
    expect(refusalReason("127.0.0.1", allow)).toMatch(/loopback/);
    expect(() => parseAllowList("10.0.0.0/33")).toThrow();
  });

  it("checks a name after resolving it: any refused answer refuses it", async () => {
    const dns: Record<string, string[]> = {
      "inside.example": ["127.0.0.1"],
      "mixed.example": ["93.184.216.34", "10.0.0.5"],
      "meta.example": ["169.254.169.254"],
      "v6.example": ["::ffff:127.0.0.1"],
    };
    const http = createOutboundHttp({ resolve: async (h) => dns[h] ?? [] });
    for (const [name, [first, ...rest]] of Object.entries(dns)) {
      const refused = await refusal(http.fetch(`http://${name}:${port}/`));
      expect(refused.host).toBe(name);
      expect([first, ...rest]).toContain(refused.address);
      expect(refused.message).toMatch(new RegExp(`^refused: ${name.replace(".", "\\.")} resolves to `));
    }
    // Saving such a name is not refused: only sending knows what it resolves to.
    expect(literalRefusal("http://inside.example/")).toBeNull();
    await http.close();
  });

  it("connects to the address it checked, so a name that changes its answer gains nothing", async () => {
    const answers = ["127.0.0.1", "127.0.0.2", "127.0.0.1"];
    const asked: string[] = [];
    const http = createOutboundHttp({
      allow: LOOPBACK_ONLY,
      resolve: async (h) => {
        asked.push(h);
        return [answers[asked.length - 1] ?? "127.0.0.2"];
      },
    });
    const url = `http://hooks.rebind.test:${port}/rebind`;
    const before = hits.length;
    const first = await http.fetch(url);
    expect(first.status).toBe(200);
    await first.text();
    // The request reached the checked address with the name it was made for.
    expect(hits.at(-1)?.headers.host).toBe(`hooks.rebind.test:${port}`);
    const second = await refusal(http.fetch(url));
    expect(second.address).toBe("127.0.0.2");
    const third = await http.fetch(url);
    expect(third.status).toBe(200);
    await third.text();
    expect(asked).toEqual(["hooks.rebind.test", "hooks.rebind.test", "hooks.rebind.test"]);
    expect(hits.length).toBe(before + 2);
    await http.close();
  });

  it("follows a redirect only to an address it may reach", async () => {
    const http = createOutboundHttp({ allow: LOOPBACK_ONLY });
    for (const target of [
      `http://127.0.0.2:${port}/x`,
      `http://[::1]:${port}/x`,
      "http://169.254.169.254/",
    ]) {
      redirectTo = target;
      const refused = await refusal(http.fetch(`http://127.0.0.1:${port}/redirect`));
      expect(refused.host, target).toBe(new URL(target).hostname.replace(/^\[|\]$/g, ""));
    }
    redirectTo = `http://127.0.0.1:${port}/after-redirect`;
    const ok = await http.fetch(`http://127.0.0.1:${port}/redirect`);
    expect(ok.status).toBe(200);
    await ok.text();
    expect(hits.at(-1)?.url).toBe("/after-redirect");
    await http.close();
  });
});
