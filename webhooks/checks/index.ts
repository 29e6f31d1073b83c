// The admission checks, in the order the handler tries them (first that handles the request decides).
import { nhiCheck, nhiPolicyCheck } from "./nhi.js";
import { rbacCheck } from "./rbac.js";
import { secretCheck } from "./secret.js";
import { tokenRequestCheck } from "./token.js";
import type { AdmissionCheck } from "./types.js";
import { workloadCheck } from "./workload.js";

export const ADMISSION_CHECKS: readonly AdmissionCheck[] = [
  rbacCheck,
  workloadCheck,
  tokenRequestCheck,
  secretCheck,
  nhiCheck,
  nhiPolicyCheck,
];
export type { AdmissionCheck, AdmissionContext, BadObject } from "./types.js";
export { workloadAnnotations } from "./workload.js";
