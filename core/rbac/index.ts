// Public surface of the RBAC core: coverage, scoped coverage, built-in roles, effective permissions.
export * from "./types.js";
export {
  breakdown,
  covers,
  nonResourceURLCovers,
  ruleCovers,
  ruleKey,
  uncoveredRules,
} from "./coverage.js";
export {
  CLUSTER_WIDE,
  describeGrant,
  describePermission,
  describeUncovered,
  scopeRulesFor,
  toPermission,
  uncoveredGrants,
} from "./scoped.js";
export {
  BUILTIN_ANNOTATION,
  BUILTIN_CLUSTER_ROLE_BINDINGS,
  BUILTIN_CLUSTER_ROLES,
  builtinClusterRole,
  isBuiltinClusterRole,
} from "./builtin-roles.js";
export {
  EffectivePermissionIndex,
  bindingKeyOf,
  roleKeyOf,
  saKey,
  type EffectivePermissionIndexOptions,
  type RbacChange,
} from "./effective.js";
export {
  enclosingGroups,
  groupContains,
  groupIdentity,
  groupsOfServiceAccount,
  isMemberGroup,
  memberGroup,
  parseGroupIdentity,
  type MemberGroup,
} from "./groups.js";
