import { zodResolver } from "@hookform/resolvers/zod";
import { type Department, type DeviceCredentials, deviceCredentials, deviceProtocols } from "@vakt/schemas";
import { useId } from "react";
import { Controller, useForm } from "react-hook-form";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { DepartmentSelect, openDepartments, useFirstDepartmentUntilPicked } from "./DepartmentsAdmin";
import {
  type DeviceCreateBody,
  type DeviceFormInput,
  deviceFieldError,
  deviceForm,
  emptyDeviceForm,
} from "./device-form";
import { FieldError, invalidProps } from "./FieldError";

/** A new device by serial, department and protocol; its credentials come back once. */
export function ProvisionDeviceForm(props: {
  departments: Department[];
  run(f: () => Promise<unknown>): void;
  onCredentials(c: DeviceCredentials): void;
}) {
  const { t } = useUi();
  const id = useId();
  const open = openDepartments(props.departments);
  const form = useForm<DeviceFormInput, unknown, DeviceCreateBody>({
    resolver: zodResolver(deviceForm),
    defaultValues: emptyDeviceForm(),
  });
  useFirstDepartmentUntilPicked(form, open);
  const provision = (body: DeviceCreateBody) =>
    props.run(async () => {
      props.onCredentials(await data(api.POST("/api/v1/devices", { body }), deviceCredentials));
      form.reset(emptyDeviceForm(body.departmentId, body.protocol));
    });
  const errors = form.formState.errors;
  const fieldError = (field: keyof DeviceFormInput) => (
    <FieldError
      formId={id}
      errors={errors}
      field={field}
      text={(f) => t(deviceFieldError(f, form.getValues()))}
    />
  );
  return (
    <form
      className="card form-row"
      noValidate
      aria-label={t("devices.provision")}
      onSubmit={form.handleSubmit(provision)}
    >
      <label>
        {t("devices.serial")}
        <input autoComplete="off" {...form.register("serial")} {...invalidProps(id, errors, "serial")} />
      </label>
      <label htmlFor={`${id}-department`}>
        {t("common.department")}
        <Controller
          control={form.control}
          name="departmentId"
          render={({ field }) => (
            <DepartmentSelect
              id={`${id}-department`}
              departments={open}
              value={field.value}
              onChange={field.onChange}
              label={t("common.department")}
            />
          )}
        />
      </label>
      <label>
        {t("devices.protocol")}
        <select {...form.register("protocol")}>
          {deviceProtocols.map((p) => (
            <option key={p} value={p}>
              {t(`devices.protocol.${p}`)}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary">
        {t("devices.provision")}
      </button>
      {fieldError("serial")}
      {fieldError("departmentId")}
      {fieldError("protocol")}
    </form>
  );
}

/** A device's credentials, shown once after provisioning or rotation. */
export function DeviceCredentialsCard({
  credentials,
  onClose,
}: {
  credentials: DeviceCredentials;
  onClose(): void;
}) {
  const { t } = useUi();
  return (
    <div className="card" role="status" data-testid="device-credentials">
      <p>
        <strong>
          {t(credentials.protocol === "osmand" ? "devices.osmandCredentials" : "devices.credentials")}
        </strong>{" "}
        ({credentials.device.serial}) — {t("common.shownOnce")}
      </p>
      {credentials.protocol === "osmand" ? (
        <>
          <p>
            {t("devices.osmandDeviceId")}: <span className="secret">{credentials.osmandDeviceId}</span>
          </p>
          <p>{t("devices.osmandHint")}</p>
        </>
      ) : (
        <>
          <p>
            {t("devices.username")}: <span className="secret">{credentials.mqttUsername}</span>
          </p>
          <p>
            {t("devices.password")}: <span className="secret">{credentials.mqttPassword}</span>
          </p>
        </>
      )}
      <button type="button" onClick={onClose}>
        {t("common.close")}
      </button>
    </div>
  );
}
