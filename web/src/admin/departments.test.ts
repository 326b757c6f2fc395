import type { Department } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { departmentName, departmentTree, openDepartments } from "./DepartmentsAdmin";

const d = (
  id: string,
  name: string,
  parentId: string | null,
  closedAt: string | null = null,
): Department => ({
  id,
  name,
  parentId,
  ancestry: [],
  closedAt,
});

describe("the department tree", () => {
  it("lists parents before children, by name, with depth", () => {
    const tree = departmentTree([
      d("3", "Sone 3", "s"),
      d("s", "Sør", null),
      d("2", "Sone 2", "n"),
      d("1", "Sone 1", "n"),
      d("n", "Nord", null),
    ]);
    expect(tree.map((x) => `${x.depth}:${x.dept.name}`)).toEqual([
      "0:Nord",
      "1:Sone 1",
      "1:Sone 2",
      "0:Sør",
      "1:Sone 3",
    ]);
  });

  it("shows a department whose parent the user cannot see at the top", () => {
    expect(departmentTree([d("1", "Sone 1", "hidden")]).map((x) => x.depth)).toEqual([0]);
  });
});

describe("the departments offered for something new", () => {
  const closedAt = "2026-11-30T10:00:00.000Z";
  const list = [
    d("n", "Nord", null),
    d("1", "Sone 1", "n"),
    d("t", "Sone Tom", "n", closedAt),
    d("tb", "Sone Tom B", "t", closedAt),
    d("s", "Sør", null),
  ];

  it("are the open ones only, in the tree's order", () => {
    expect(departmentTree(openDepartments(list)).map((x) => x.dept.name)).toEqual(["Nord", "Sone 1", "Sør"]);
    expect(openDepartments([list[2] as Department])).toEqual([]);
  });

  it("name a closed department as closed where an existing item is still in it", () => {
    expect(departmentName(list[2], "lagt ned")).toBe("Sone Tom (lagt ned)");
    expect(departmentName(list[1], "lagt ned")).toBe("Sone 1");
    expect(departmentName(undefined, "lagt ned")).toBe("");
  });
});
