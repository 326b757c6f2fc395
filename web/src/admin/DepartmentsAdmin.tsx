import { type Department, department } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { errorText, useLoad } from "./use-load";

/** Departments shown as a tree, ordered by name at each level. */
export function departmentTree(list: readonly Department[]): { dept: Department; depth: number }[] {
  const ids = new Set(list.map((d) => d.id));
  const children = new Map<string | null, Department[]>();
  for (const d of list) {
    const parent = d.parentId && ids.has(d.parentId) ? d.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), d]);
  }
  const out: { dept: Department; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const d of [...(children.get(parent) ?? [])].sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ dept: d, depth });
      walk(d.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

export function useDepartments() {
  return useLoad(() => data(api.GET("/api/v1/departments"), z.array(department)), []);
}

/** A select of departments, indented by depth. */
export function DepartmentSelect(props: {
  departments: readonly Department[];
  value: string;
  onChange(id: string): void;
  allowRoot?: string;
  name?: string;
  /** Its accessible name (a label around a select would also name it by its options). */
  label?: string;
}) {
  return (
    <select
      name={props.name}
      aria-label={props.label}
      value={props.value}
      onChange={(e) => props.onChange(e.target.value)}
    >
      {props.allowRoot !== undefined && <option value="">{props.allowRoot}</option>}
      {departmentTree(props.departments).map(({ dept, depth }) => (
        <option key={dept.id} value={dept.id}>
          {"\u00a0\u00a0".repeat(depth)}
          {dept.name}
        </option>
      ))}
    </select>
  );
}

export function DepartmentsAdmin() {
  const { t } = useUi();
  const session = useSession();
  const depts = useDepartments();
  const [name, setName] = useState("");
  const [parent, setParent] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const manage = can(session, "department:manage");
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await data(api.POST("/api/v1/departments", { body: { name, parentId: parent || null } }), department);
      setName("");
      setMessage(t("common.saved"));
      depts.reload();
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  const rename = async (d: Department, newName: string) => {
    try {
      await data(
        api.PATCH("/api/v1/departments/{id}", { params: { path: { id: d.id } }, body: { name: newName } }),
        department,
      );
      depts.reload();
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  return (
    <>
      {depts.error && <p className="error">{depts.error}</p>}
      <ul className="tree" data-testid="department-tree">
        {departmentTree(depts.data ?? []).map(({ dept, depth }) => (
          <li key={dept.id} style={{ marginLeft: `${depth * 1.2}rem` }}>
            {manage ? (
              <input
                aria-label={`${t("common.name")}: ${dept.name}`}
                defaultValue={dept.name}
                onBlur={(e) =>
                  e.target.value.trim() && e.target.value !== dept.name && rename(dept, e.target.value.trim())
                }
              />
            ) : (
              dept.name
            )}
            {dept.closedAt && <span className="muted"> (closed)</span>}
          </li>
        ))}
      </ul>
      {manage && (
        <form className="card form-row" onSubmit={create}>
          <label>
            {t("dept.new")}
            <input name="department-name" required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            {t("dept.parent")}
            <DepartmentSelect
              departments={depts.data ?? []}
              value={parent}
              onChange={setParent}
              allowRoot={t("dept.root")}
            />
          </label>
          <button type="submit" className="primary">
            {t("common.create")}
          </button>
        </form>
      )}
      {message && <p role="status">{message}</p>}
    </>
  );
}
