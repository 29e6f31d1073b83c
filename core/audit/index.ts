// Runtime detection from the API server's audit events (issue #11).
export {
  ANNOTATION,
  AUDIT_API_VERSION,
  EXTRA,
  parseAuditEvent,
  parseAuditLine,
  parseEventList,
} from "./event.js";
export type { AuditEvent, AuditObjectRef, Credential, ParseResult } from "./event.js";
export { AuditDetector, DEFAULT_DETECTOR_OPTIONS, SEVERITIES, atLeast } from "./detect.js";
export type {
  AuditContext,
  AuditFinding,
  DeclaredIdentity,
  DetectorOptions,
  Evidence,
} from "./detect.js";
export { declarationIndex, declarationOf, podIPIndex } from "./declarations.js";
export {
  HUMAN_CLIENTS,
  clientOf,
  grantFromReason,
  isHumanClient,
  permissionOf,
  withinScopes,
} from "./request.js";
export { AUDIT_RULES, AUDIT_RULE_IDS } from "./rules.js";
export type { AuditCategory, AuditRule, AuditRuleId } from "./rules.js";
export {
  BASELINE_API_VERSION,
  Baseline,
  DEFAULT_BASELINE_OPTIONS,
  HABIT_KINDS,
  parseBaselineDocument,
  requestHabitOf,
  sourceOf,
} from "./baseline.js";
export type {
  BaselineDocument,
  BaselineOptions,
  BaselineStats,
  HabitKind,
  NewHabit,
} from "./baseline.js";
export {
  DEFAULT_USAGE_OPTIONS,
  USAGE_API_VERSION,
  UsageRecorder,
  parseUsageDocument,
  rightsize,
  rightsizeSnapshot,
  type UsageDocument,
} from "./rightsize.js";
export type { RemovedPermission, RightsizeProposal, UsageOptions } from "./rightsize.js";
export {
  MAX_PROPOSED_SCOPES,
  MAX_UNUSED_LISTED,
  rightsizeChange,
  rightsizeDue,
  rightsizeStatusOf,
  rightsizeTiming,
} from "./rightsize-status.js";
export type { RightsizeTiming } from "./rightsize-status.js";
