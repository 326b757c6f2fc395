import { rolePermissions } from "@vakt/api";
import { describe, expect, it } from "vitest";
import { homePath, seesLiveView } from "./home";

describe("every role's home page", () => {
  it("is a screen whose data the role may read", () => {
    for (const [role, perms] of Object.entries(rolePermissions)) {
      const home = homePath(perms);
      if (home === "/") {
        // The live view lists positions or alarms: it must be allowed one of them.
        expect(seesLiveView(perms), role).toBe(true);
      } else if (home === "/admin/activity") expect(perms, role).toContain("activity:read");
      else {
        expect(home, role).toBe("/admin");
        expect(
          perms.some((p) => p.endsWith(":read") || p.endsWith(":manage")),
          role,
        ).toBe(true);
      }
    }
  });

  it("is the activity log for an auditor and administration for a department administrator", () => {
    expect(homePath(rolePermissions.auditor)).toBe("/admin/activity");
    expect(homePath(rolePermissions.dept_admin)).toBe("/admin");
    expect(homePath(rolePermissions.operator)).toBe("/");
    expect(homePath(rolePermissions.locator)).toBe("/");
    expect(homePath(rolePermissions.org_admin)).toBe("/");
  });
});
