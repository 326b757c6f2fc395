import {
  type Department,
  type DeviceCredentials,
  type DeviceProtocol,
  deviceCredentials,
  deviceProtocols,
} from "@vakt/schemas";
import { useState } from "react";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { DepartmentSelect } from "./DepartmentsAdmin";

/** A new device by serial, department and protocol; its credentials come back once. */
export function ProvisionDeviceForm(props: {
  departments: Department[];
  run(f: () => Promise<unknown>): void;
  onCredentials(c: DeviceCredentials): void;
}) {
  const { t } = useUi();
  const [serial, setSerial] = useState("");
  const [departmentId, setDepartmentId] = useState("");
  const [protocol, setProtocol] = useState<DeviceProtocol>("mqtt");
  return (
    <form
      className="card form-row"
      onSubmit={(e) => {
        e.preventDefault();
        props.run(async () => {
          props.onCredentials(
            await data(
              api.POST("/api/v1/devices", {
                // Before the departments have loaded there is none to pick: sent without one as
                // before, and the API refuses it (400, shown); the cast is that case.
                body: {
                  serial,
                  departmentId: (departmentId || props.departments[0]?.id) as string,
                  protocol,
                },
              }),
              deviceCredentials,
            ),
          );
          setSerial("");
        });
      }}
    >
      <label>
        {t("devices.serial")}
        <input
          name="serial"
          required
          pattern="[A-Za-z0-9_\-]{1,64}"
          value={serial}
          onChange={(e) => setSerial(e.target.value)}
        />
      </label>
      <label>
        {t("common.department")}
        <DepartmentSelect departments={props.departments} value={departmentId} onChange={setDepartmentId} />
      </label>
      <label>
        {t("devices.protocol")}
        <select
          name="protocol"
          value={protocol}
          onChange={(e) => setProtocol(e.target.value as DeviceProtocol)}
        >
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
