import type { AlertEndpoint } from "@vakt/schemas";
import type { ReactNode } from "react";
import { Controller, type FieldErrors, useFieldArray } from "react-hook-form";
import { useUi } from "../session/context";
import { useAlertTargets } from "./queries";
import type { Form } from "./RuleEditor";
import { newStep, type RuleFormInput, ruleFieldError, STEP_CHANNELS, toggled } from "./rule-form";

/** A list of checkboxes over a set of values: ticked ones are added at the end, or kept in the options' order. */
export function Checks<V>(props: {
  options: readonly { value: V; label: ReactNode; key: string }[];
  value: readonly V[];
  onChange(next: V[]): void;
  inOptionOrder?: boolean;
}) {
  const order = props.inOptionOrder ? props.options.map((o) => o.value) : undefined;
  return (
    <>
      {props.options.map((o) => (
        <label key={o.key} className="inline">
          <input
            type="checkbox"
            checked={props.value.includes(o.value)}
            onChange={(e) => props.onChange(toggled(props.value, o.value, e.target.checked, order))}
          />
          {o.label}
        </label>
      ))}
    </>
  );
}

/** The messages of the fields the schema refused under `prefix`, in words. */
export function FieldProblems(props: { errors: FieldErrors<RuleFormInput>; prefix: string; id?: string }) {
  const { t } = useUi();
  const paths: (string | number)[][] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (!node || typeof node !== "object") return;
    if ("message" in node && "type" in node) paths.push(path);
    for (const [k, v] of Object.entries(node)) if (k !== "ref") walk(v, [...path, k]);
  };
  walk((props.errors as Record<string, unknown>)[props.prefix], [props.prefix]);
  const texts = [
    ...new Set(paths.map((p) => t(ruleFieldError(p.map((x) => (/^\d+$/.test(String(x)) ? Number(x) : x)))))),
  ];
  if (texts.length === 0) return null;
  return (
    <p className="error small" role="alert" id={props.id}>
      {texts.join(" ")}
    </p>
  );
}

export function StepFields(props: { form: Form; endpoints: readonly AlertEndpoint[] }) {
  const { t } = useUi();
  const { form } = props;
  const steps = useFieldArray({ control: form.control, name: "steps" });
  const department = form.watch("departmentId");
  // Whom a step may alert: the roles and people the API's policy says can see and take its alarms.
  const targets = useAlertTargets(department);
  const users = targets.data?.users ?? [];
  return (
    <>
      {steps.fields.map((s, i) => (
        <fieldset key={s.id} data-testid="rule-step">
          <legend>{t("routing.step", { n: i + 1 })}</legend>
          <fieldset className="form-row" data-testid="step-roles">
            <legend>{t("routing.roles")}</legend>
            <Controller
              control={form.control}
              name={`steps.${i}.roles`}
              render={({ field }) => (
                <Checks
                  options={(targets.data?.roles ?? []).map((r) => ({
                    value: r,
                    key: r,
                    label: t(`role.${r}`),
                  }))}
                  value={field.value}
                  onChange={field.onChange}
                />
              )}
            />
          </fieldset>
          <fieldset className="form-row" data-testid="step-users">
            <legend>{t("routing.users")}</legend>
            {targets.data && users.length === 0 && <p className="muted">{t("routing.noTargets")}</p>}
            <Controller
              control={form.control}
              name={`steps.${i}.users`}
              render={({ field }) => (
                <Checks
                  options={users.map((u) => ({
                    value: u.id,
                    key: u.id,
                    label: `${u.firstName} ${u.lastName}`,
                  }))}
                  value={field.value}
                  onChange={field.onChange}
                />
              )}
            />
          </fieldset>
          <StepChannels form={form} index={i} endpoints={props.endpoints} />
          <div className="form-row">
            <label>
              {t("routing.after")}
              <input
                type="number"
                min={1}
                max={86400}
                {...form.register(`steps.${i}.waitS`, { valueAsNumber: true })}
              />
            </label>
            {steps.fields.length > 1 && (
              <button type="button" onClick={() => steps.remove(i)}>
                {t("routing.removeStep", { n: i + 1 })}
              </button>
            )}
          </div>
        </fieldset>
      ))}
      <button type="button" onClick={() => steps.append(newStep())}>
        {t("routing.addStep")}
      </button>
    </>
  );
}

function StepChannels(props: { form: Form; index: number; endpoints: readonly AlertEndpoint[] }) {
  const { t } = useUi();
  const { form, index } = props;
  return (
    <div className="form-row">
      <Controller
        control={form.control}
        name={`steps.${index}.channels`}
        render={({ field }) => (
          <Checks
            options={STEP_CHANNELS.map((c) => ({ value: c, key: c, label: t(`alarm.channel.${c}`) }))}
            value={field.value}
            onChange={field.onChange}
          />
        )}
      />
      <Controller
        control={form.control}
        name={`steps.${index}.endpointIds`}
        render={({ field }) => (
          <Checks
            options={props.endpoints.map((ep) => ({
              value: ep.id,
              key: ep.id,
              label: `${ep.name} (${t(`channels.kind.${ep.kind}`)})`,
            }))}
            value={field.value}
            onChange={field.onChange}
          />
        )}
      />
    </div>
  );
}
