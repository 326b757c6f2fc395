import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import { type Device, type DeviceSettings, device as deviceSchema } from "@vakt/schemas";
import { useId } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import {
  type DeviceConfigBody,
  type DeviceConfigInput,
  deviceConfigError,
  deviceConfigForm,
  deviceConfigToForm,
} from "./device-config-form";

const fields = [
  "reportIntervalS",
  "heartbeatIntervalS",
  "trackingEnabled",
  "fallDetection",
  "lowBatteryPct",
  "alarmNumber",
] as const;

/** A device's desired configuration, whether the device has confirmed it, and a form to change it. */
export function DeviceConfiguration(props: { device: Device; editable: boolean; onSaved(d: Device): void }) {
  const { t, dateTime } = useUi();
  const d = props.device;
  const id = useId();
  const form = useForm<DeviceConfigInput, unknown, DeviceConfigBody>({
    resolver: zodResolver(deviceConfigForm),
    defaultValues: deviceConfigToForm(d.desiredConfig),
  });
  const applied = d.reportedConfigVersion !== null && d.reportedConfigVersion >= d.desiredConfigVersion;
  const saving = useMutation({
    mutationFn: (body: DeviceConfigBody) =>
      data(api.PUT("/api/v1/devices/{id}/config", { params: { path: { id: d.id } }, body }), deviceSchema),
    onSuccess: (saved) => props.onSaved(saved),
  });
  const message = saving.isSuccess
    ? t("common.saved")
    : saving.error
      ? t("common.error", { message: saving.error.message })
      : null;
  return (
    <form
      className="card"
      noValidate
      onSubmit={form.handleSubmit((body) => saving.mutate(body))}
      aria-label={`${t("recipient.device")} ${d.serial}`}
    >
      <p>
        <strong>{d.serial}</strong> · {d.model} · {d.online ? t("alarm.online") : t("alarm.offline")} ·{" "}
        {t("alarm.battery")} {d.batteryPercent ?? "–"} % · {t("alarm.lastContact")}{" "}
        {d.lastSeenAt ? dateTime(d.lastSeenAt) : "–"}
      </p>
      <table>
        <thead>
          <tr>
            <th />
            <th>{t("recipient.desired")}</th>
            <th>{t("recipient.reported")}</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((f) => (
            <tr key={f}>
              <th scope="row">
                <label htmlFor={`${id}-${f}`}>{t(`settings.${f}`)}</label>
              </th>
              <td>
                <SettingInput id={`${id}-${f}`} field={f} form={form} disabled={!props.editable} />
              </td>
              <td data-testid={`reported-${f}`}>
                {d.reportedConfig ? shown(t, f, d.reportedConfig[f]) : "–"}
                {d.reportedConfig && d.reportedConfig[f] !== d.desiredConfig[f] ? " ≠" : ""}
              </td>
            </tr>
          ))}
          <tr>
            <th scope="row">{t("recipient.configVersion")}</th>
            <td>{d.desiredConfigVersion}</td>
            <td>{d.reportedConfigVersion ?? "–"}</td>
          </tr>
        </tbody>
      </table>
      <p className={applied ? "muted" : "notice"}>
        {applied ? t("recipient.configApplied") : t("recipient.configPending")}
      </p>
      {props.editable && (
        <button type="submit" className="primary">
          {t("common.save")}
        </button>
      )}
      {message && <p role="status">{message}</p>}
    </form>
  );
}

/** A reported setting in words: the fall-detection level through the dictionary, never its code. */
const shown = (
  t: ReturnType<typeof useUi>["t"],
  field: (typeof fields)[number],
  v: DeviceSettings[keyof DeviceSettings] | undefined,
) => {
  if (v === undefined) return "–";
  if (typeof v === "boolean") return v ? "✓" : "✗";
  if (field === "fallDetection") return t(`enum.fallDetection.${v as DeviceSettings["fallDetection"]}`);
  return String(v);
};

/** One desired setting's input; a refused value is said under it (aria-invalid, aria-describedby). */
function SettingInput(props: {
  id: string;
  field: (typeof fields)[number];
  form: UseFormReturn<DeviceConfigInput, unknown, DeviceConfigBody>;
  disabled: boolean;
}) {
  const { t } = useUi();
  const { id, field, form, disabled } = props;
  if (field === "trackingEnabled")
    return <input id={id} type="checkbox" disabled={disabled} {...form.register("trackingEnabled")} />;
  if (field === "fallDetection")
    return (
      <select id={id} disabled={disabled} {...form.register("fallDetection")}>
        {(["off", "low", "medium", "high"] as const).map((o) => (
          <option key={o} value={o}>
            {t(`enum.fallDetection.${o}`)}
          </option>
        ))}
      </select>
    );
  const error = form.formState.errors[field];
  return (
    <>
      <input
        id={id}
        {...(field === "alarmNumber"
          ? { type: "tel", placeholder: "+4712345678" }
          : { type: "text", inputMode: "numeric" as const })}
        disabled={disabled}
        {...form.register(field)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error && (
        <p id={`${id}-error`} className="error small" role="alert">
          {t(deviceConfigError(field))}
        </p>
      )}
    </>
  );
}
