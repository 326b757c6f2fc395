export {
  type ActivityKeyring,
  type ActivityLogSetup,
  activityLogFromConfig,
  type Checkpoint,
  loadOrCreateKeyFile,
} from "./activity/chain";
export { verifyActivityLog } from "./activity/reader";
export { useActivityKeyring } from "./activity/writer";
export { runGraphileMigrations } from "./alerting";
export { createApp, type VaktApp } from "./app";
export type {
  ApiConfig,
  ApiDeps,
  Clock,
  DeviceCommandPublisher,
  Mail,
  Mailer,
  PasswordHashingOptions,
} from "./deps";
export { OWASP_ARGON2ID } from "./deps";
export { type MqttDeviceCommandsOptions, mqttDeviceCommands } from "./devices/commands";
export { republishPendingConfigs } from "./devices/service";
export { ApiError, type ErrorCode, errorCodes } from "./errors";
export { type ApiMetrics, createApiMetrics, type MetricsServer, startMetricsServer } from "./metrics";
export { createOrganisation } from "./organisations/service";
export { type Actor, allowedDepartments, type Permission, permissions, rolePermissions } from "./policy";
export { eraseRecipient, eraseStaffUser } from "./privacy/erasure";
export { recipientVisibleSql, rowRecipientVisibleSql } from "./privacy/visibility";
export { type RetentionRunResult, runRetention } from "./retention/job";
export { type RetentionScheduler, startRetentionScheduler } from "./retention/scheduler";
export { type DemoSeed, seedDemo } from "./seed";
export { type RunningApi, startApiServer } from "./server";
