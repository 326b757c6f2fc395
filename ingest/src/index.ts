export {
  devicePublishAllowed,
  deviceSubscribeAllowed,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  type ServiceCredential,
  startEmbeddedBroker,
} from "./broker/embedded";
export {
  findMosquitto,
  type ManagedMosquitto,
  type ManagedMosquittoOptions,
  startManagedMosquitto,
} from "./broker/managed-mosquitto";
export {
  generateMosquittoFiles,
  type MosquittoFiles,
  type ServiceAccount,
  writeMosquittoFiles,
} from "./broker/mosquitto-files";
export { createIngestHttpApp, startIngestHttp } from "./http/server";
export {
  type CreateIngestOptions,
  createIngest,
  defaultIngestConfig,
  type Ingest,
  type IngestConfig,
} from "./ingest";
export { createMetrics, type IngestMetrics } from "./metrics";
export {
  type DeadLetterReason,
  type Decision,
  type DeviceLookup,
  type DeviceRef,
  deadLetterReasons,
  decide,
} from "./pipeline/decide";
export { DEVICE_DIRECTORY_CHANNEL, DeviceDirectory } from "./pipeline/device-directory";
