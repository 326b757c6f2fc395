import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { DeviceCredentials } from "@vakt/schemas";
import { useState } from "react";
import { queryKeys } from "../api/query";
import { can, useSession, useUi } from "../session/context";
import { DeviceCredentialsCard, ProvisionDeviceForm } from "./DeviceProvision";
import { DeviceRow } from "./DeviceRow";
import { errorText, useDepartments, useDevices, useRecipients } from "./queries";

export { signalLevel } from "./DeviceRow";

/** Devices: provision (credentials shown once), assign, swap, new credentials; configuration on the recipient page. */
export function DevicesAdmin() {
  const { t } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const devices = useDevices();
  const recipients = useRecipients();
  const depts = useDepartments();
  const [credentials, setCredentials] = useState<DeviceCredentials | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const manage = can(session, "device:manage");
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
          {active.map((d) => (
            <DeviceRow
              key={d.id}
              d={d}
              manage={manage}
              recipients={recipients.data ?? []}
              departments={depts.data ?? []}
              spare={spare}
              run={run}
              onCredentials={setCredentials}
            />
          ))}
        </tbody>
      </table>
      {manage && (
        <ProvisionDeviceForm departments={depts.data ?? []} run={run} onCredentials={setCredentials} />
      )}
      {credentials && (
        <DeviceCredentialsCard credentials={credentials} onClose={() => setCredentials(null)} />
      )}
      {message && <p role="status">{message}</p>}
    </>
  );
}
