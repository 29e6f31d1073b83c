// Public surface of the policy core: the escalation catalogue and the decisions built on it.
export * from "./types.js";
export {
  CATALOGUE,
  CATALOGUE_BY_ID,
  DANGEROUS_GROUPS,
  DANGEROUS_USERS,
  OWASP_NHI,
} from "./catalogue.js";
export type { CatalogueEntry, CatalogueSeverity, OwaspNhi } from "./catalogue.js";
export { catalogueHits } from "./catalogue-hits.js";
export type { CatalogueHit, GrantLike } from "./catalogue-hits.js";
export { runChain } from "./chain.js";
export type { Check, Finding } from "./chain.js";
export {
  ADMISSION_DEFAULTS,
  CLI_DEFAULTS,
  exemptionFor,
  modesFor,
  parseServiceAccountIdentity,
  resolvePolicy,
  serviceAccountIdentity,
} from "./settings.js";
export type { BreakGlass, EffectivePolicy, Exemption, Mode } from "./settings.js";
export { judgeBreakGlass, requesterKind } from "./break-glass.js";
export type { BreakGlassOutcome, RequesterKind } from "./break-glass.js";
export {
  RBAC_WRITE_CHECKS,
  boundRole,
  decideRbacWrite,
  grantsOfHolder,
  holderIdentity,
  holdersOf,
  identityChanges,
} from "./rbac-write.js";
export type {
  GoverningIdentity,
  GroupChange,
  Holder,
  IdentityChange,
  RbacWriteInput,
  RoleLookup,
  ServiceAccountChange,
} from "./rbac-write.js";
export {
  WORKLOAD_CHECKS,
  borrowedIdentityFindings,
  decideWorkload,
  isControlPlaneRequester,
  objectRef,
} from "./workload.js";
export type { ClusterLookups, Requester, WorkloadInput } from "./workload.js";
export { lifetimeProblem } from "./nhi-standing.js";
export {
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  SECRET_WRITE_CHECKS,
  TOKEN_REQUEST_CHECKS,
  declaredTokenTTLSeconds,
  decideSecretWrite,
  decideTokenRequest,
} from "./token.js";
export type { SecretWriteInput, TokenRequestInput } from "./token.js";
export {
  ADMISSION_RULE_IDS,
  NHIPOLICY_WRITE_CHECKS,
  NHI_WRITE_CHECKS,
  decideNHIPolicyWrite,
  decideNHIWrite,
  scopeGrants,
} from "./nhi-write.js";
export type { NHIPolicyWriteInput, NHIWriteInput } from "./nhi-write.js";
