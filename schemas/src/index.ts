export * from "./common";
export * from "./config";
export * from "./device/messages";
export * from "./device/topics";
export * from "./api/problem";
export * from "./events";
