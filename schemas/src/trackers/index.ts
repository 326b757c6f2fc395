export * from "./osmand";
export * from "./owntracks";
