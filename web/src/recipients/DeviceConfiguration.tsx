import { useMutation } from "@tanstack/react-query";
import { type Device, type DeviceSettings, device as deviceSchema } from "@vakt/schemas";
import { useState } from "react";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";

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
  const [draft, setDraft] = useState<DeviceSettings>(d.desiredConfig);
  const applied = d.reportedConfigVersion !== null && d.reportedConfigVersion >= d.desiredConfigVersion;
  const saving = useMutation({
    mutationFn: (settings: DeviceSettings) =>
      data(
        api.PUT("/api/v1/devices/{id}/config", { params: { path: { id: d.id } }, body: { settings } }),
        deviceSchema,
      ),
    onSuccess: (saved) => props.onSaved(saved),
  });
  const message = saving.isSuccess
    ? t("common.saved")
    : saving.error
      ? t("common.error", { message: saving.error.message })
      : null;
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    saving.mutate(draft);
  };
  return (
    <form className="card" onSubmit={save} aria-label={`${t("recipient.device")} ${d.serial}`}>
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
              <th scope="row">{t(`settings.${f}`)}</th>
              <td>
                <SettingInput field={f} value={draft} disabled={!props.editable} onChange={setDraft} />
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

function SettingInput(props: {
  field: (typeof fields)[number];
  value: DeviceSettings;
  disabled: boolean;
  onChange(v: DeviceSettings): void;
}) {
  const { t } = useUi();
  const { field, value, disabled } = props;
  if (field === "trackingEnabled")
    return (
      <input
        type="checkbox"
        checked={value.trackingEnabled}
        disabled={disabled}
        onChange={(e) => props.onChange({ ...value, trackingEnabled: e.target.checked })}
      />
    );
  if (field === "fallDetection")
    return (
      <select
        value={value.fallDetection}
        disabled={disabled}
        onChange={(e) =>
          props.onChange({ ...value, fallDetection: e.target.value as DeviceSettings["fallDetection"] })
        }
      >
        {(["off", "low", "medium", "high"] as const).map((o) => (
          <option key={o} value={o}>
            {t(`enum.fallDetection.${o}`)}
          </option>
        ))}
      </select>
    );
  if (field === "alarmNumber")
    return (
      <input
        value={value.alarmNumber ?? ""}
        disabled={disabled}
        placeholder="+4712345678"
        onChange={(e) => {
          const { alarmNumber: _, ...rest } = value;
          props.onChange(e.target.value ? { ...rest, alarmNumber: e.target.value } : rest);
        }}
      />
    );
  return (
    <input
      type="number"
      value={value[field]}
      disabled={disabled}
      onChange={(e) => props.onChange({ ...value, [field]: Number(e.target.value) })}
    />
  );
}
