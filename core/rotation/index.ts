// Credential rotation: the two-phase state machine recorded on the Secret, and value formats.
export * from "./state.js";
export * from "./plan.js";
export * from "./generate.js";
export * from "./legacy.js";
