import { zodResolver } from "@hookform/resolvers/zod";
import { geofenceAlarmOn } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { FieldError, invalidProps } from "../admin/FieldError";
import { useUi } from "../session/context";
import {
  emptyGeofenceForm,
  type GeofenceBody,
  type GeofenceFormInput,
  geofenceFieldError,
  geofenceForm,
} from "./geofence-form";
import type { GeofenceShape } from "./geofence-shape";

/**
 * The form of a geofence just drawn: its name, a circle's radius, whether it is active and its daily
 * window, checked by the shared create schema; the drawn shape itself stays as drawn on the map.
 */
export function GeofenceForm(props: {
  shape: GeofenceShape;
  saving: boolean;
  onSave(body: GeofenceBody): void;
  onCancel(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<GeofenceFormInput, unknown, GeofenceBody>({
    resolver: zodResolver(geofenceForm(props.shape)),
    defaultValues: emptyGeofenceForm(props.shape),
  });
  const errors = form.formState.errors;
  const fieldError = (field: keyof GeofenceFormInput) => (
    <FieldError formId={id} errors={errors} field={field} text={(f) => t(geofenceFieldError(f))} />
  );
  return (
    <form
      className="card form-row"
      noValidate
      onSubmit={form.handleSubmit(props.onSave)}
      data-testid="geofence-form"
    >
      <label>
        {t("recipient.geofenceName")}
        <input {...form.register("name")} {...invalidProps(id, errors, "name")} />
      </label>
      {props.shape.kind === "circle" && (
        <label>
          {t("geofence.radius")}
          <input
            type="number"
            inputMode="numeric"
            {...form.register("radiusM")}
            {...invalidProps(id, errors, "radiusM")}
          />
        </label>
      )}
      <label className="inline">
        <input type="checkbox" {...form.register("active")} />
        {t("recipient.geofenceActive")}
      </label>
      <label>
        {t("geofence.alarmOn")}
        <select {...form.register("alarmOn")}>
          {geofenceAlarmOn.options.map((o) => (
            <option key={o} value={o}>
              {t(`geofence.alarmOn.${o}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("geofence.windowStart")}
        <input type="time" {...form.register("windowStart")} {...invalidProps(id, errors, "windowStart")} />
      </label>
      <label>
        {t("geofence.windowEnd")}
        <input type="time" {...form.register("windowEnd")} {...invalidProps(id, errors, "windowEnd")} />
      </label>
      <p className="muted small">{t("geofence.windowHelp")}</p>
      <button type="submit" className="primary" disabled={props.saving}>
        {t("common.save")}
      </button>
      <button type="button" onClick={props.onCancel}>
        {t("common.cancel")}
      </button>
      {fieldError("name")}
      {fieldError("radiusM")}
      {fieldError("windowStart")}
      {fieldError("windowEnd")}
    </form>
  );
}
