import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Device, type DeviceProtocol, deviceCredentials, deviceProtocols } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { Link } from "../ui/router";
import { DepartmentSelect } from "./DepartmentsAdmin";
import { errorText, useDepartments, useDevices, useRecipients } from "./queries";

/** Rough bands of mobile signal strength, for someone who does not read dBm. */
export function signalLevel(dbm: number): "strong" | "fair" | "weak" {
  if (dbm >= -75) return "strong";
  return dbm >= -95 ? "fair" : "weak";
}

/** Devices: provision (credentials shown once), assign, swap, new credentials; configuration on the recipient page. */
export function DevicesAdmin() {
  const { t, dateTime } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const devices = useDevices();
  const recipients = useRecipients();
  const depts = useDepartments();
  const [serial, setSerial] = useState("");
  const [departmentId, setDepartmentId] = useState("");
  const [protocol, setProtocol] = useState<DeviceProtocol>("mqtt");
  const [credentials, setCredentials] = useState<z.infer<typeof deviceCredentials> | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const manage = can(session, "device:manage");
  const name = (id: string | null) => {
    const r = recipients.data?.find((x) => x.id === id);
    return r ? `${r.firstName ?? ""} ${r.lastName ?? ""}` : "–";
  };
  const change = useMutation({
    mutationFn: (f: () => Promise<unknown>) => f(),
    onSuccess: () => client.invalidateQueries({ queryKey: queryKeys.devices }),
    onError: (err) => setMessage(errorText(err)),
  });
  const run = (f: () => Promise<unknown>) => change.mutate(f);
  const active = (devices.data ?? []).filter((d) => !d.retiredAt);
  const spare = active.filter((d) => !d.recipientId);

  return (
    <>
      {devices.error && <p className="error">{errorText(devices.error)}</p>}
      <table>
        <thead>
          <tr>
            <th>{t("devices.serial")}</th>
            <th>{t("devices.model")}</th>
            <th>{t("devices.protocol")}</th>
            <th>{t("devices.department")}</th>
            <th>{t("devices.recipient")}</th>
            <th>{t("alarm.battery")}</th>
            <th>{t("devices.signal")}</th>
            <th>{t("devices.configState")}</th>
            <th>{t("alarm.lastContact")}</th>
            {manage && <th>{t("common.actions")}</th>}
          </tr>
        </thead>
        <tbody>
          {active.map((d: Device) => (
            <tr key={d.id}>
              <td>{d.serial}</td>
              <td>
                {d.model}
                {d.firmware && (
                  <>
                    <br />
                    <small>
                      {t("devices.firmware")} {d.firmware}
                    </small>
                  </>
                )}
              </td>
              <td>{t(`devices.protocol.${d.protocol}`)}</td>
              <td>{depts.data?.find((x) => x.id === d.departmentId)?.name ?? "–"}</td>
              <td>
                {manage ? (
                  <select
                    aria-label={`${t("devices.assign")} ${d.serial}`}
                    value={d.recipientId ?? ""}
                    onChange={(e) =>
                      run(() =>
                        data(
                          api.PUT("/api/v1/devices/{id}/recipient", {
                            params: { path: { id: d.id } },
                            body: { recipientId: e.target.value || null },
                          }),
                          z.unknown(),
                        ),
                      )
                    }
                  >
                    <option value="">–</option>
                    {(recipients.data ?? [])
                      .filter((r) => r.departmentId === d.departmentId || r.id === d.recipientId)
                      .map((r) => (
                        <option key={r.id} value={r.id}>
                          {r.firstName} {r.lastName}
                        </option>
                      ))}
                  </select>
                ) : (
                  name(d.recipientId)
                )}{" "}
                {d.recipientId && <Link to={`/recipients/${d.recipientId}`}>{t("devices.config")}</Link>}
              </td>
              <td>
                {d.batteryPercent === null ? "–" : `${d.batteryPercent} %`}
                {d.charging ? `, ${t("devices.charging")}` : ""}
              </td>
              <td>
                {d.signalDbm === null
                  ? "–"
                  : `${d.signalDbm} dBm (${t(`devices.signal.${signalLevel(d.signalDbm)}`)})`}
              </td>
              <td>{t(`devices.configState.${d.configState}`)}</td>
              <td>
                {d.online ? t("alarm.online") : t("alarm.offline")}
                {d.lastSeenAt ? ` · ${dateTime(d.lastSeenAt)}` : ""}
              </td>
              {manage && (
                <td className="buttons">
                  <button
                    type="button"
                    onClick={() =>
                      run(async () =>
                        setCredentials(
                          await data(
                            api.POST("/api/v1/devices/{id}/rotate-credentials", {
                              params: { path: { id: d.id } },
                            }),
                            deviceCredentials,
                          ),
                        ),
                      )
                    }
                  >
                    {t("devices.rotate")}
                  </button>
                  {d.recipientId && spare.length > 0 && (
                    <select
                      aria-label={`${t("devices.swap")} ${d.serial}`}
                      value=""
                      onChange={(e) =>
                        e.target.value &&
                        run(() =>
                          data(
                            api.POST("/api/v1/devices/{id}/swap", {
                              params: { path: { id: d.id } },
                              body: { replacementDeviceId: e.target.value },
                            }),
                            z.unknown(),
                          ),
                        )
                      }
                    >
                      <option value="">{t("devices.swap")}…</option>
                      {spare.map((s) => (
                        <option key={s.id} value={s.id}>
                          {s.serial}
                        </option>
                      ))}
                    </select>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {manage && (
        <form
          className="card form-row"
          onSubmit={(e) => {
            e.preventDefault();
            run(async () => {
              setCredentials(
                await data(
                  api.POST("/api/v1/devices", {
                    // Before the departments have loaded there is none to pick: sent without one as
                    // before, and the API refuses it (400, shown); the cast is that case.
                    body: { serial, departmentId: (departmentId || depts.data?.[0]?.id) as string, protocol },
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
            <DepartmentSelect
              departments={depts.data ?? []}
              value={departmentId}
              onChange={setDepartmentId}
            />
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
      )}
      {credentials && (
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
          <button type="button" onClick={() => setCredentials(null)}>
            {t("common.close")}
          </button>
        </div>
      )}
      {message && <p role="status">{message}</p>}
    </>
  );
}
