// nhi-operator's pure core: every decision as a function of plain data (no I/O, no clock, no logger).
// `uncoveredRules(owner, requested)` is the entry point for RBAC coverage with Kubernetes' semantics.
export * from "./rbac/index.js";
export * from "./nhi/index.js";
export * from "./policy/index.js";
export { selectorMatches, selectorErrors } from "./labels.js";
export { globMatches } from "./glob.js";
export * from "./snapshot.js";
export * from "./workloads/pod-template.js";
export * from "./workloads/owner.js";
export * from "./certs/index.js";
export * from "./inventory/index.js";
export * from "./risk/index.js";
export * from "./lifetime/index.js";
export * from "./rotation/index.js";
