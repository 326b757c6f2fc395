import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Department, department } from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import {
  Controller,
  type FieldValues,
  type Path,
  type PathValue,
  type UseFormReturn,
  useForm,
} from "react-hook-form";
import { ApiProblem } from "../api/client";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import {
  type DepartmentCreateBody,
  type DepartmentFormInput,
  departmentFieldError,
  departmentForm,
  emptyDepartmentForm,
} from "./department-form";
import { FieldError, invalidProps } from "./FieldError";
import { errorText, useDepartments } from "./queries";

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

/**
 * The departments something new may go in, or be moved to: not the closed ones (a closed department
 * takes no new recipients, devices or grants; the console does not offer it).
 */
export function openDepartments(list: readonly Department[]): Department[] {
  return list.filter((d) => d.closedAt === null);
}

/**
 * A department select shows its first department until one is picked: the form holds that one too,
 * so what is sent is what is shown. `departments` is the list the select offers.
 */
export function useFirstDepartmentUntilPicked<T extends FieldValues & { departmentId: string }>(
  // biome-ignore lint/suspicious/noExplicitAny: any form whose values have a departmentId, whatever it outputs
  form: UseFormReturn<T, any, any>,
  departments: readonly Department[],
): void {
  const first = departments[0]?.id;
  useEffect(() => {
    const field = "departmentId" as Path<T>;
    if (!form.getValues(field) && first) form.setValue(field, first as PathValue<T, Path<T>>);
  }, [first, form]);
}

/** A department's name as text, marked when it is closed (an existing item may still be in one). */
export function departmentName(d: Department | undefined, closed: string): string {
  if (!d) return "";
  return d.closedAt ? `${d.name} (${closed})` : d.name;
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
  disabled?: boolean;
  id?: string;
}) {
  return (
    <select
      id={props.id}
      name={props.name}
      disabled={props.disabled}
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
  const client = useQueryClient();
  const depts = useDepartments();
  const [message, setMessage] = useState<string | null>(null);
  const manage = can(session, "department:manage");
  const refresh = () => client.invalidateQueries({ queryKey: queryKeys.departments });
  const rename = useMutation({
    mutationFn: (v: { id: string; name: string }) =>
      data(
        api.PATCH("/api/v1/departments/{id}", { params: { path: { id: v.id } }, body: { name: v.name } }),
        department,
      ),
    onSuccess: refresh,
    onError: (err) => setMessage(errorText(err)),
  });
  return (
    <>
      {depts.error && <p className="error">{errorText(depts.error)}</p>}
      <ul className="tree" data-testid="department-tree">
        {departmentTree(depts.data ?? []).map(({ dept, depth }) => (
          <li key={dept.id} style={{ marginLeft: `${depth * 1.2}rem` }} data-testid="department">
            {manage ? (
              <input
                aria-label={`${t("common.name")}: ${dept.name}`}
                defaultValue={dept.name}
                onBlur={(e) =>
                  e.target.value.trim() &&
                  e.target.value !== dept.name &&
                  rename.mutate({ id: dept.id, name: e.target.value.trim() })
                }
              />
            ) : (
              dept.name
            )}
            {dept.closedAt && <span className="muted"> ({t("dept.closed")})</span>}
            {manage && !dept.closedAt && <CloseDepartment department={dept} />}
          </li>
        ))}
      </ul>
      {manage && <NewDepartmentForm departments={depts.data ?? []} onMessage={setMessage} />}
      {message && <p role="status">{message}</p>}
    </>
  );
}

function NewDepartmentForm(props: { departments: readonly Department[]; onMessage(text: string): void }) {
  const { t } = useUi();
  const id = useId();
  const client = useQueryClient();
  const form = useForm<DepartmentFormInput, unknown, DepartmentCreateBody>({
    resolver: zodResolver(departmentForm),
    defaultValues: emptyDepartmentForm(),
  });
  const create = useMutation({
    mutationFn: (body: DepartmentCreateBody) => data(api.POST("/api/v1/departments", { body }), department),
    onSuccess: () => {
      form.reset(emptyDepartmentForm(form.getValues("parentId")));
      props.onMessage(t("common.saved"));
      return client.invalidateQueries({ queryKey: queryKeys.departments });
    },
    onError: (err) => props.onMessage(errorText(err)),
  });
  const errors = form.formState.errors;
  const fieldError = (field: keyof DepartmentFormInput) => (
    <FieldError formId={id} errors={errors} field={field} text={(f) => t(departmentFieldError(f))} />
  );
  return (
    <form
      className="card form-row"
      noValidate
      aria-label={t("dept.new")}
      onSubmit={form.handleSubmit((body) => create.mutate(body))}
    >
      <label>
        {t("dept.new")}
        <input {...form.register("name")} {...invalidProps(id, errors, "name")} />
      </label>
      <label htmlFor={`${id}-parent`}>
        {t("dept.parent")}
        <Controller
          control={form.control}
          name="parentId"
          render={({ field }) => (
            <DepartmentSelect
              id={`${id}-parent`}
              departments={openDepartments(props.departments)}
              value={field.value}
              onChange={field.onChange}
              label={t("dept.parent")}
              allowRoot={t("dept.root")}
            />
          )}
        />
      </label>
      <button type="submit" className="primary" disabled={create.isPending}>
        {t("common.create")}
      </button>
      {fieldError("name")}
      {fieldError("parentId")}
    </form>
  );
}

/** Why a close was refused, in words: the API refuses (409) while active recipients or devices remain. */
export function closeRefusalText(err: unknown, name: string, t: ReturnType<typeof useUi>["t"]): string {
  if (err instanceof ApiProblem && err.code === "conflict") return t("dept.closeRefused", { name });
  return errorText(err);
}

/** Closing a department (and its sub-departments), after a confirmation that says what it means. */
function CloseDepartment(props: { department: Department }) {
  const { t } = useUi();
  const client = useQueryClient();
  const [asking, setAsking] = useState(false);
  const close = useMutation({
    mutationFn: () =>
      data(
        api.POST("/api/v1/departments/{id}/close", { params: { path: { id: props.department.id } } }),
        department,
      ),
    onSuccess: () => {
      setAsking(false);
      return client.invalidateQueries({ queryKey: queryKeys.departments });
    },
  });
  if (!asking)
    return (
      <>
        {" "}
        <button
          aria-label={`${t("dept.close")} ${props.department.name}`}
          type="button"
          onClick={() => setAsking(true)}
        >
          {t("dept.close")}
        </button>
      </>
    );
  return (
    <fieldset className="confirm" data-testid="close-department">
      <legend>{t("dept.closeAsk", { name: props.department.name })}</legend>
      <p className="muted small">{t("dept.closeHint")}</p>
      <button type="button" className="danger" disabled={close.isPending} onClick={() => close.mutate()}>
        {t("dept.closeConfirm")}
      </button>{" "}
      <button
        type="button"
        onClick={() => {
          close.reset();
          setAsking(false);
        }}
      >
        {t("common.cancel")}
      </button>
      {close.error && (
        <p className="error" role="alert">
          {closeRefusalText(close.error, props.department.name, t)}
        </p>
      )}
    </fieldset>
  );
}
