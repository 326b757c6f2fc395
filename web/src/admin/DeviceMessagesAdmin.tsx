import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type DeviceMessage, deviceMessagePage } from "@vakt/schemas";
import { useState } from "react";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { messageKindText } from "../i18n/enums";
import { useUi } from "../session/context";
import { MessageText } from "./MessageText";
import { errorText, useDevices } from "./queries";

type Direction = "" | "uplink" | "downlink";

/**
 * A device's transactions log: every message it sent and the platform sent it, newest first, for
 * whoever manages the device. The text is shown only where the user may also see positions.
 */
export function DeviceMessagesAdmin() {
  const { t } = useUi();
  const devices = useDevices();
  const [deviceId, setDeviceId] = useState("");
  const [direction, setDirection] = useState<Direction>("");
  const [before, setBefore] = useState<string | undefined>(undefined);
  const query = { deviceId, direction: direction || undefined, before, limit: 100 };
  const page = useQuery({
    queryKey: queryKeys.deviceMessages(query),
    queryFn: () => data(api.GET("/api/v1/device-messages", { params: { query } }), deviceMessagePage),
    enabled: deviceId !== "",
    placeholderData: keepPreviousData,
  });
  const items = deviceId ? (page.data?.items ?? []) : [];
  const active = (devices.data ?? []).filter((d) => !d.retiredAt);
  return (
    <>
      <div className="card form-row">
        <label>
          {t("deviceMessages.device")}
          <select
            name="device"
            value={deviceId}
            onChange={(e) => {
              setBefore(undefined);
              setDeviceId(e.target.value);
            }}
          >
            <option value="">{t("deviceMessages.choose")}</option>
            {active.map((d) => (
              <option key={d.id} value={d.id}>
                {d.serial}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("deviceMessages.direction")}
          <select
            name="direction"
            value={direction}
            onChange={(e) => {
              setBefore(undefined);
              setDirection(e.target.value as Direction);
            }}
          >
            <option value="">{t("deviceMessages.both")}</option>
            <option value="uplink">{t("deviceMessages.uplink")}</option>
            <option value="downlink">{t("deviceMessages.downlink")}</option>
          </select>
        </label>
        {before && (
          <button type="button" onClick={() => setBefore(undefined)}>
            {t("deviceMessages.newest")}
          </button>
        )}
        {deviceId && page.data?.nextBefore && (
          <button type="button" onClick={() => setBefore(page.data?.nextBefore ?? undefined)}>
            {t("deadLetters.older")}
          </button>
        )}
      </div>
      {devices.error && <p className="error">{errorText(devices.error)}</p>}
      {page.error && <p className="error">{errorText(page.error)}</p>}
      {deviceId && page.data && items.length === 0 && <p className="muted">{t("deviceMessages.none")}</p>}
      {items.length > 0 && <DeviceMessagesTable items={items} />}
    </>
  );
}

function DeviceMessagesTable(props: { items: DeviceMessage[] }) {
  const { t, dateTime } = useUi();
  return (
    <table data-testid="device-messages-table">
      <thead>
        <tr>
          <th>{t("activity.at")}</th>
          <th>{t("deviceMessages.direction")}</th>
          <th>{t("deviceMessages.kind")}</th>
          <th>{t("deadLetters.topic")}</th>
          <th>{t("deviceMessages.text")}</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((m) => (
          <tr key={`${m.time}|${m.direction}|${m.messageId ?? ""}|${m.topic}`}>
            <td>{dateTime(m.time)}</td>
            <td>{t(m.direction === "uplink" ? "deviceMessages.uplink" : "deviceMessages.downlink")}</td>
            <td>{messageKindText(t, m.kind)}</td>
            <td>
              <code>{m.topic}</code>
            </td>
            <td>
              <MessageText text={m.payload} max={300} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
