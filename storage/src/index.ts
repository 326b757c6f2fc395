export { detectCapabilities, type StorageCapabilities, timeBucketSql } from "./capabilities";
export {
  deviceSecretSha256,
  generateDeviceSecret,
  generateOsmandDeviceId,
  looksLikeOsmandDeviceId,
  mosquittoPasswordHash,
  verifyDeviceSecret,
} from "./device-credentials";
export {
  type EmbeddedPostgresOptions,
  freePort,
  type RunningPostgres,
  startEmbeddedPostgres,
} from "./embedded";
export {
  decideTimescaleDb,
  loadMigrations,
  type MigrateOptions,
  type Migration,
  MigrationError,
  migrate,
  migrationsDir,
  preloadsTimescaleDb,
  probeTimescaleDb,
  type TimescaleDbDecision,
  type TimescaleDbProbe,
} from "./migrate";
export { maintainTimeseries, type PartitionMaintenanceResult } from "./partitions";
export { createPool, type PoolOptions, type Queryable, withTransaction } from "./pool";
export { APP_ROLE, ensureRuntimeRole, type RuntimeRoleResult } from "./roles";
export { type LoggedDownlink, logDownlink } from "./transactions-log";
