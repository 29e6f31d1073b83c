// Public surface of the policy core: the escalation catalogue and the decisions built on it.
export * from "./types.js";
export { CATALOGUE, CATALOGUE_BY_ID, DANGEROUS_GROUPS, OWASP_NHI } from "./catalogue.js";
export type { CatalogueEntry, CatalogueSeverity, OwaspNhi } from "./catalogue.js";
export { catalogueHits } from "./catalogue-hits.js";
export type { CatalogueHit, GrantLike } from "./catalogue-hits.js";
export { runChain } from "./chain.js";
export type { Check, Finding } from "./chain.js";
export {
  ADMISSION_DEFAULTS, CLI_DEFAULTS, exemptionFor, modesFor, parseServiceAccountIdentity, resolvePolicy, serviceAccountIdentity,
} from "./settings.js";
export type { BreakGlass, EffectivePolicy, Exemption, Mode } from "./settings.js";
export { RBAC_WRITE_CHECKS, decideRbacWrite, identityChanges } from "./rbac-write.js";
export type { GoverningIdentity, IdentityChange, RbacWriteInput } from "./rbac-write.js";
