// Inventory: every ServiceAccount and credential, tied to its NHI or not, with phase and risk.
export * from "./expiry.js";
export * from "./conditions.js";
export * from "./inventory.js";
export * from "./status.js";
export * from "./document.js";
export * from "./tls.js";
