import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
} from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function tokenClient(admin: Client, body: Record<string, unknown>) {
  const res = await admin.post("/api/v1/tokens", body);
  expect(res.status).toBe(201);
  const c = new Client(h);
  c.bearer = res.body.secret;
  return { client: c, token: res.body.token, secret: res.body.secret as string };
}

describe("API tokens", () => {
  it("reads pseudonymously within its departments, logged as the token", async () => {
    const org = await createOrg(h);
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const inA = await addRecipient(h, org, org.departments.a1, "Visible");
    await addRecipient(h, org, org.departments.b, "Hidden");
    await addPositions(h, org, inA, h.clock.now, 1, 60);
    const { client, token, secret } = await tokenClient(admin, {
      name: "Integration",
      permissions: ["recipient:read", "position:read", "device:read"],
      departmentIds: [org.departments.a],
    });
    const stored = await h.db.pool.query("SELECT token_sha256 FROM api_tokens WHERE id = $1", [token.id]);
    expect(stored.rows[0].token_sha256).not.toBe(secret);
    expect(secret).toMatch(/^vakt_tok_/);

    const list = await client.get("/api/v1/recipients");
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    const [r] = list.body;
    expect(r.id).toMatch(/^p_/);
    expect(r).toMatchObject({ firstName: null, lastName: null, birthDate: null, responderNotes: null });
    expect(JSON.stringify(list.body)).not.toContain("Visible");
    expect((await client.get("/api/v1/recipients")).body[0].id).toBe(r.id); // stable
    const positions = await client.get("/api/v1/positions/current");
    expect(positions.body.features[0].properties).toMatchObject({ recipientId: r.id, name: null });
    const devices = await client.get("/api/v1/devices");
    expect(devices.body.map((d: { recipientId: string }) => d.recipientId)).toEqual([r.id]);

    const log = await h.db.pool.query(
      "SELECT actor_type, actor_id, action, recipient_ids FROM activity_log WHERE organisation_id = $1 AND actor_type = 'api_token' ORDER BY seq",
      [org.organisationId],
    );
    expect(log.rows.map((x) => x.action)).toEqual([
      "recipient.listed",
      "recipient.listed",
      "position.current_viewed",
      "device.listed",
    ]);
    expect(log.rows[0]).toMatchObject({ actor_id: token.id, recipient_ids: [inA.recipientId] });
  });

  it("shows names to a non-pseudonymous token and nothing beyond its permissions", async () => {
    const org = await createOrg(h);
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const r = await addRecipient(h, org, org.departments.b, "Named");
    const { client } = await tokenClient(admin, {
      name: "Named",
      permissions: ["recipient:read"],
      departmentIds: null,
      pseudonymous: false,
    });
    const one = await client.get(`/api/v1/recipients/${r.recipientId}`);
    expect(one.body).toMatchObject({ id: r.recipientId, firstName: "Named" });
    expect((await client.get("/api/v1/positions/current")).status).toBe(403);
    expect((await client.get("/api/v1/tokens")).status).toBe(403);
    expect((await client.post("/api/v1/recipients", {})).status).toBe(403);
    expect((await client.get("/api/v1/auth/me")).status).toBe(401);
  });

  it("locates a device only when device:locate was granted, in its departments, and never when pseudonymous", async () => {
    const org = await createOrg(h);
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const r = await addRecipient(h, org, org.departments.a1, "Located");
    const token = (permissions: string[], departmentIds: string[]) =>
      tokenClient(admin, { name: "Dispatch", permissions, departmentIds, pseudonymous: false });
    const granted = await token(["device:read", "device:locate"], [org.departments.a]);
    const before = h.commands.length;
    const sent = await granted.client.post(`/api/v1/devices/${r.deviceId}/locate`, {});
    expect(sent.status).toBe(202);
    expect(h.commands.slice(before).map((x) => x.message.command)).toEqual(["locate"]);
    const located = await h.db.pool.query(
      "SELECT actor_type FROM activity_log WHERE organisation_id = $1 AND action = 'device.locate_requested'",
      [org.organisationId],
    );
    expect(located.rows).toEqual([{ actor_type: "api_token" }]);

    const readOnly = await token(["device:read"], [org.departments.a]);
    expect((await readOnly.client.post(`/api/v1/devices/${r.deviceId}/locate`, {})).status).toBe(403);
    const elsewhere = await token(["device:read", "device:locate"], [org.departments.b]);
    expect((await elsewhere.client.post(`/api/v1/devices/${r.deviceId}/locate`, {})).status).toBe(404);
    expect(h.commands.length).toBe(before + 1);
    const pseudonymous = await admin.post("/api/v1/tokens", {
      name: "Pseudonymous dispatch",
      permissions: ["device:read", "device:locate"],
      departmentIds: [org.departments.a],
    });
    expect(pseudonymous.status).toBe(400);
    expect(JSON.stringify(pseudonymous.body)).toContain("permissions");
  });

  it("stops working when revoked or expired, and only organisation administrators manage tokens", async () => {
    const org = await createOrg(h);
    const admin = await loggedIn(
      h,
      (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
    );
    const { client, token } = await tokenClient(admin, {
      name: "Short",
      permissions: ["device:read"],
      departmentIds: null,
      expiresAt: new Date(h.clock.now.getTime() + 3_600_000).toISOString(),
    });
    expect((await client.get("/api/v1/devices")).status).toBe(200);
    h.clock.advance(3_600_001);
    expect((await client.get("/api/v1/devices")).status).toBe(401);
    await admin.login(org.users.admin?.email as string);
    const { client: second, token: t2 } = await tokenClient(admin, {
      name: "Revoked",
      permissions: ["device:read"],
      departmentIds: null,
    });
    expect((await admin.delete(`/api/v1/tokens/${t2.id}`)).body.revokedAt).not.toBeNull();
    const revoked = await second.get("/api/v1/devices");
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get("content-type")).toContain("application/problem+json");
    const listed = (await admin.get("/api/v1/tokens")).body as { id: string; lastUsedAt: string | null }[];
    expect(listed.find((t) => t.id === token.id)?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain("vakt_tok_");
    const da = await loggedIn(
      h,
      (await addUser(h, org, "da", [{ role: "dept_admin", departmentId: org.departments.a }])).email,
    );
    expect((await da.get("/api/v1/tokens")).status).toBe(403);
    expect(
      (await admin.post("/api/v1/tokens", { name: "x", permissions: ["user:manage"], departmentIds: null }))
        .status,
    ).toBe(400);
  });
});
