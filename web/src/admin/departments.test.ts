import type { Department } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { departmentTree } from "./DepartmentsAdmin";

const d = (id: string, name: string, parentId: string | null): Department => ({
  id,
  name,
  parentId,
  ancestry: [],
  closedAt: null,
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
