import {
  type Department,
  type Device,
  type DeviceCredentials,
  deviceCredentials,
  type Recipient,
} from "@vakt/schemas";
import { z } from "zod";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import { departmentName } from "./DepartmentsAdmin";

/** Rough bands of mobile signal strength, for someone who does not read dBm. */
export function signalLevel(dbm: number): "strong" | "fair" | "weak" {
  if (dbm >= -75) return "strong";
  return dbm >= -95 ? "fair" : "weak";
}

export type DeviceRowProps = {
  d: Device;
  manage: boolean;
  recipients: Recipient[];
  departments: Department[];
  /** Active devices with no recipient, to swap to. */
  spare: Device[];
  run(f: () => Promise<unknown>): void;
  onCredentials(c: DeviceCredentials): void;
};

/** One active device: its state, who wears it, and (for a manager) its actions. */
export function DeviceRow(props: DeviceRowProps) {
  const { t, dateTime } = useUi();
  const { d } = props;
  return (
    <tr>
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
      <td>
        {departmentName(
          props.departments.find((x) => x.id === d.departmentId),
          t("dept.closed"),
        ) || "–"}
      </td>
      <RecipientCell {...props} />
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
      {props.manage && <DeviceActions {...props} />}
    </tr>
  );
}

/** Who wears it: a manager assigns here; the link goes to the recipient's device configuration. */
function RecipientCell({ d, manage, recipients, run }: DeviceRowProps) {
  const { t } = useUi();
  const name = (id: string | null) => {
    const r = recipients.find((x) => x.id === id);
    return r ? `${r.firstName ?? ""} ${r.lastName ?? ""}` : "–";
  };
  return (
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
          {recipients
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
  );
}

/** New credentials, and a swap to a spare device for one that is worn. */
function DeviceActions({ d, spare, run, onCredentials }: DeviceRowProps) {
  const { t } = useUi();
  return (
    <td className="buttons">
      <button
        type="button"
        onClick={() =>
          run(async () =>
            onCredentials(
              await data(
                api.POST("/api/v1/devices/{id}/rotate-credentials", { params: { path: { id: d.id } } }),
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
  );
}
