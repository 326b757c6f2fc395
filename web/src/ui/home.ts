/**
 * Where each person starts. The live map needs positions (read, or locate with
 * a reason) or alarms; someone with neither (an auditor, a department
 * administrator) would land on a screen of refusals, so they start where their
 * work is: the activity log, or administration.
 */
export function seesLiveView(permissions: readonly string[]): boolean {
  return ["position:read", "position:locate", "alarm:read"].some((p) => permissions.includes(p));
}

export function homePath(permissions: readonly string[]): string {
  if (seesLiveView(permissions)) return "/";
  if (permissions.includes("activity:read")) return "/admin/activity";
  return "/admin";
}
