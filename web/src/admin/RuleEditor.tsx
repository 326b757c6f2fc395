import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import {
  type AlertEndpoint,
  type AlertRule,
  alarmSeverity,
  alarmType,
  alertRule,
  type Department,
  targetsCannotAct,
} from "@vakt/schemas";
import { useEffect, useId, useRef } from "react";
import { Controller, type UseFormReturn, useFieldArray, useForm } from "react-hook-form";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { formatWeekday } from "../format/time";
import { useUi } from "../session/context";
import { DepartmentSelect, useFirstDepartmentUntilPicked } from "./DepartmentsAdmin";
import { errorText } from "./queries";
import { Checks, FieldProblems, StepFields } from "./RuleSteps";
import {
  emptyRuleForm,
  newWindow,
  type RuleCreateBody,
  type RuleFormInput,
  ruleForm,
  ruleToForm,
  updateBody,
  WEEKDAYS,
} from "./rule-form";

export type Form = UseFormReturn<RuleFormInput, unknown, RuleCreateBody>;
type T = ReturnType<typeof useUi>["t"];

/** A refused save that names who cannot act, in the console's words; null for any other error. */
function cannotActText(err: unknown, t: T): string | null {
  if (!(err instanceof ApiProblem)) return null;
  const member = z.object({ targetsCannotAct }).safeParse(err.body);
  if (!member.success) return null;
  const { users, roles } = member.data.targetsCannotAct;
  const lines: string[] = [];
  if (users.length > 0)
    lines.push(t("routing.cannotActUsers", { names: users.map((u) => u.name).join(", ") }));
  if (roles.length > 0)
    lines.push(t("routing.cannotActRoles", { roles: roles.map((r) => t(`role.${r}`)).join(", ") }));
  return lines.join(" ");
}

/**
 * The one form for a routing rule, to create one or (given `editing`) to change it: department,
 * alarm types and severities, schedule windows by weekday, escalation steps, reminders.
 */
export function RuleEditor(props: {
  editing: AlertRule | null;
  departments: readonly Department[];
  endpoints: readonly AlertEndpoint[];
  onDone(message: string): void;
  onFailed(message: string): void;
}) {
  const { t } = useUi();
  const client = useQueryClient();
  const id = useId();
  const form: Form = useForm<RuleFormInput, unknown, RuleCreateBody>({
    resolver: zodResolver(ruleForm),
    defaultValues: props.editing ? ruleToForm(props.editing) : emptyRuleForm(),
  });
  useFirstDepartmentUntilPicked(form, props.departments);
  const editing = props.editing;
  // Opening a rule to change it moves there: the form is below the list.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (editing) heading.current?.focus();
  }, [editing]);
  const save = useMutation({
    mutationFn: (body: RuleCreateBody) =>
      editing
        ? data(
            api.PATCH("/api/v1/alert-rules/{id}", {
              params: { path: { id: editing.id } },
              body: updateBody(body),
            }),
            alertRule,
          )
        : data(api.POST("/api/v1/alert-rules", { body }), alertRule),
    onSuccess: async () => {
      if (!editing) form.reset(emptyRuleForm(form.getValues("departmentId")));
      await client.invalidateQueries({ queryKey: queryKeys.alertRules });
      props.onDone(t("common.saved"));
    },
    onError: (err) => props.onFailed(cannotActText(err, t) ?? errorText(err)),
  });
  const title = editing ? t("routing.editRule", { name: editing.name }) : t("routing.newRule");
  return (
    <form
      className="card"
      aria-label={editing ? t("routing.editRuleLabel") : t("routing.newRule")}
      noValidate
      data-testid="rule-form"
      onSubmit={form.handleSubmit((body) => save.mutate(body))}
    >
      <h2 ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <RuleHead form={form} id={id} departments={props.departments} editing={editing !== null} />
      <ScheduleFields form={form} />
      <StepFields form={form} endpoints={props.endpoints} />
      <ReminderFields form={form} id={id} />
      <FieldProblems errors={form.formState.errors} prefix="steps" />
      <div className="buttons">
        <button type="submit" className="primary" disabled={save.isPending}>
          {editing ? t("common.save") : t("common.create")}
        </button>
        {editing && (
          <button type="button" onClick={() => props.onDone("")}>
            {t("routing.stopEditing")}
          </button>
        )}
      </div>
    </form>
  );
}

function RuleHead(props: { form: Form; id: string; departments: readonly Department[]; editing: boolean }) {
  const { t } = useUi();
  const { form, id } = props;
  const errors = form.formState.errors;
  return (
    <>
      <div className="form-row">
        <label>
          {t("common.name")}
          <input
            {...form.register("name")}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={errors.name ? `${id}-name-error` : undefined}
          />
        </label>
        <label htmlFor={`${id}-department`}>
          {t("common.department")}
          <Controller
            control={form.control}
            name="departmentId"
            render={({ field }) => (
              <DepartmentSelect
                id={`${id}-department`}
                name="rule-department"
                departments={props.departments}
                value={field.value}
                onChange={field.onChange}
                disabled={props.editing}
              />
            )}
          />
        </label>
        <label className="inline">
          <input type="checkbox" {...form.register("enabled")} />
          {t("routing.enabled")}
        </label>
      </div>
      <FieldProblems errors={errors} prefix="name" id={`${id}-name-error`} />
      <fieldset>
        <legend>{t("routing.alarmTypes")}</legend>
        <Controller
          control={form.control}
          name="alarmTypes"
          render={({ field }) => (
            <Checks
              options={alarmType.options.map((x) => ({ value: x, key: x, label: t(`alarm.type.${x}`) }))}
              value={field.value}
              onChange={field.onChange}
            />
          )}
        />
        <p className="muted small">{t("routing.allWhenNone")}</p>
      </fieldset>
      <fieldset>
        <legend>{t("routing.severities")}</legend>
        <Controller
          control={form.control}
          name="severities"
          render={({ field }) => (
            <Checks
              options={alarmSeverity.options.map((x) => ({
                value: x,
                key: x,
                label: t(`alarm.severity.${x}`),
              }))}
              value={field.value}
              onChange={field.onChange}
            />
          )}
        />
        <p className="muted small">{t("routing.allWhenNone")}</p>
      </fieldset>
    </>
  );
}

function ScheduleFields(props: { form: Form }) {
  const { t, lang } = useUi();
  const { form } = props;
  const windows = useFieldArray({ control: form.control, name: "schedule" });
  const scheduled = form.watch("scheduled");
  return (
    <fieldset>
      <legend>
        <label className="inline">
          <input type="checkbox" {...form.register("scheduled")} />
          {t("routing.schedule")}
        </label>
      </legend>
      {scheduled &&
        windows.fields.map((w, i) => (
          <fieldset key={w.id} className="form-row" data-testid="schedule-window">
            <legend>{t("routing.window", { n: i + 1 })}</legend>
            <Controller
              control={form.control}
              name={`schedule.${i}.days`}
              render={({ field }) => (
                <Checks
                  options={WEEKDAYS.map((d) => ({ value: d, key: String(d), label: formatWeekday(d, lang) }))}
                  inOptionOrder
                  value={field.value}
                  onChange={field.onChange}
                />
              )}
            />
            <label>
              {t("common.from")}
              <input type="time" {...form.register(`schedule.${i}.start`)} />
            </label>
            <label>
              {t("common.to")}
              <input type="time" {...form.register(`schedule.${i}.end`)} />
            </label>
            {windows.fields.length > 1 && (
              <button type="button" onClick={() => windows.remove(i)}>
                {t("routing.removeWindow", { n: i + 1 })}
              </button>
            )}
          </fieldset>
        ))}
      {scheduled && (
        <>
          <FieldProblems errors={form.formState.errors} prefix="schedule" />
          <p className="muted small">{t("routing.windowHint")}</p>
          <button type="button" onClick={() => windows.append(newWindow())}>
            {t("routing.addWindow")}
          </button>
        </>
      )}
    </fieldset>
  );
}

function ReminderFields(props: { form: Form; id: string }) {
  const { t } = useUi();
  const { form } = props;
  const errors = form.formState.errors;
  return (
    <fieldset>
      <legend>{t("routing.afterLastStep")}</legend>
      <div className="form-row">
        <label>
          {t("routing.reminderInterval")}
          <input type="number" min={30} max={86400} step={1} {...form.register("reminderIntervalS")} />
        </label>
        <label>
          {t("routing.maxReminders")}
          <input type="number" min={0} max={100} step={1} {...form.register("maxReminders")} />
        </label>
        <label>
          {t("routing.cancelWindow")}
          <input
            type="number"
            min={0}
            max={600}
            step={1}
            data-testid="rule-cancel-window-input"
            {...form.register("cancelWindowS")}
          />
        </label>
      </div>
      {(["reminderIntervalS", "maxReminders", "cancelWindowS"] as const).map((f) => (
        <FieldProblems key={f} errors={errors} prefix={f} />
      ))}
    </fieldset>
  );
}
