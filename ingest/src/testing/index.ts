/** Test and benchmark helpers other packages use: a real Mosquitto from the shipped configuration. */
export {
  type MosquittoOptions,
  type RunningMosquitto,
  SHIPPED_MOSQUITTO_CONF,
  shippedConfigFor,
  startMosquitto,
} from "./mosquitto";
