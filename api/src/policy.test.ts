import { describe, expect, it } from "vitest";
import {
  type Actor,
  holds,
  isAdministrator,
  permissions,
  permissionsOf,
  reach,
  rolePermissions,
} from "./policy";

const user = (grants: Extract<Actor, { kind: "user" }>["grants"]): Actor => ({
  kind: "user",
  organisationId: "org",
  userId: "u",
  sessionId: "s",
  grants,
});

describe("policy", () => {
  it("gives each role exactly the documented permissions", () => {
    // The product's role table, written out so a change to the policy is a visible change here.
    expect(rolePermissions.locator).toEqual([
      "organisation:read",
      "department:read",
      "recipient:read",
      "position:locate",
    ]);
    expect(rolePermissions.auditor).toContain("activity:read");
    expect(rolePermissions.auditor.filter((p) => p.startsWith("position:"))).toEqual([]);
    expect(rolePermissions.operator).toEqual(
      expect.arrayContaining(["position:read", "alarm:acknowledge", "device:configure", "geofence:manage"]),
    );
    expect(rolePermissions.operator).not.toContain("user:manage");
    expect(rolePermissions.dept_admin).toEqual(expect.arrayContaining(["user:manage", "device:manage"]));
    expect(rolePermissions.dept_admin).not.toContain("position:read");
    expect(rolePermissions.dept_admin).not.toContain("organisation:manage");
    expect(new Set(rolePermissions.org_admin)).toEqual(
      new Set(permissions.filter((p) => p !== "device:locate")),
    );
  });

  it("reaches the granted subtrees, or the whole organisation for organisation-wide grants", () => {
    const a = user([
      { role: "operator", departmentId: "d1" },
      { role: "locator", departmentId: "d2" },
    ]);
    expect(reach(a, "position:read")).toEqual({ wholeOrganisation: false, roots: ["d1"] });
    expect(reach(a, "position:locate")).toEqual({ wholeOrganisation: false, roots: ["d2"] });
    expect(reach(a, "activity:read")).toEqual({ wholeOrganisation: false, roots: [] });
    expect(holds(a, "activity:read")).toBe(false);
    const admin = user([{ role: "org_admin", departmentId: null }]);
    expect(reach(admin, "device:manage")).toEqual({ wholeOrganisation: true, roots: [] });
  });

  it("never lets a department grant reach organisation-wide permissions", () => {
    // An org_admin grant recorded on a department (not allowed by the API, but possible in SQL) gives no token rights.
    const odd = user([{ role: "org_admin", departmentId: "d1" }]);
    expect(holds(odd, "token:manage")).toBe(false);
    expect(holds(odd, "organisation:manage")).toBe(false);
    expect(holds(odd, "device:manage")).toBe(true);
  });

  it("limits API tokens to their permissions and departments", () => {
    const token: Actor = {
      kind: "api_token",
      organisationId: "org",
      tokenId: "t",
      permissions: ["recipient:read"],
      departmentIds: ["d1"],
      pseudonymous: true,
    };
    expect(reach(token, "recipient:read")).toEqual({ wholeOrganisation: false, roots: ["d1"] });
    expect(holds(token, "position:read")).toBe(false);
    expect(permissionsOf(token)).toEqual(["recipient:read"]);
  });

  it("counts organisation and department administrators as administrators", () => {
    expect(isAdministrator([{ role: "dept_admin", departmentId: "d" }])).toBe(true);
    expect(isAdministrator([{ role: "operator", departmentId: null }])).toBe(false);
  });
});
