// The detection rules: one table of what each rule means, how bad it is, which OWASP NHI risk it
// is evidence of, and how to tune it. The logic is in detect.ts, one check per rule.
import { OWASP_NHI } from "../policy/catalogue.js";
import type { OwaspNhi } from "../policy/catalogue.js";
import type { Severity } from "../policy/types.js";

export const AUDIT_RULE_IDS = [
  "out-of-scope",
  "enumeration",
  "human-client",
  "token-off-pod",
  "legacy-token",
  "unbound-token",
  "token-minted-elsewhere",
  "secret-listing",
  "secret-reads",
  "token-minting",
  "permission-probing",
  "rbac-write",
  "webhook-write",
  "workload-as-other-identity",
  "new-behaviour",
] as const;
export type AuditRuleId = (typeof AUDIT_RULE_IDS)[number];

export type AuditCategory =
  | "out-of-scope"
  | "enumeration"
  | "token-replay"
  | "secret-harvesting"
  | "privilege-change"
  | "new-behaviour";

export interface AuditRule {
  id: AuditRuleId;
  category: AuditCategory;
  title: string;
  /** The usual severity; a check may raise or lower it (an allowed request is worse than a denied one). */
  severity: Severity;
  owasp: OwaspNhi[];
  /** What it means when it fires. */
  why: string;
  /** How to make it quiet where the behaviour is intended. */
  tune: string;
}

export const AUDIT_RULES: Readonly<Record<AuditRuleId, AuditRule>> = {
  "out-of-scope": {
    id: "out-of-scope",
    category: "out-of-scope",
    title: "Request outside the identity's declared scopes",
    severity: "high",
    owasp: [OWASP_NHI.NHI5],
    why: "the identity asked for something its NonHumanIdentity does not declare: allowed (high) means RBAC grants more than the declaration — the binding is named; denied (medium) means the code or whoever holds the token tried",
    tune: "declare the permission in the NHI's spec.scopes if it is intended; otherwise remove the over-granting binding",
  },
  enumeration: {
    id: "enumeration",
    category: "enumeration",
    title: "Burst of denied requests across resources",
    severity: "high",
    owasp: [OWASP_NHI.NHI2, OWASP_NHI.NHI10],
    why: "many 403s over several resources in a short time is someone mapping what a token can do, not a workload that knows its job",
    tune: "enumeration threshold, distinct resources and window (--enumeration-threshold, --enumeration-window)",
  },
  "human-client": {
    id: "human-client",
    category: "token-replay",
    title: "ServiceAccount token used by a person's tool",
    severity: "high",
    owasp: [OWASP_NHI.NHI10],
    why: "kubectl, curl and the like with a ServiceAccount's token, from outside the identity's pods: a person is acting as the workload",
    tune: "run such tools inside the workload's pod (its address is known), or give people their own credentials",
  },
  "token-off-pod": {
    id: "token-off-pod",
    category: "token-replay",
    title: "Pod-bound token used from outside its pod",
    severity: "high",
    owasp: [OWASP_NHI.NHI2, OWASP_NHI.NHI10],
    why: "the token names the pod it was issued to, but the request came from another address: the token left the pod",
    tune: "nothing to tune: a pod's token belongs in its pod. The address is the connection's (the last of sourceIPs; X-Forwarded-For is the client's to claim): behind a proxy in front of the API server it is the proxy's",
  },
  "legacy-token": {
    id: "legacy-token",
    category: "token-replay",
    title: "Legacy Secret token used where the NHI forbids them",
    severity: "high",
    owasp: [OWASP_NHI.NHI7],
    why: "a long-lived token from a kubernetes.io/service-account-token Secret authenticated, but the NHI's legacyTokens is Forbid",
    tune: "delete the Secret and use projected tokens, or set legacyTokens: Allow/Rotate on the NHI",
  },
  "unbound-token": {
    id: "unbound-token",
    category: "token-replay",
    title: "Unbound token used where the NHI's credentials are pod-bound",
    severity: "medium",
    owasp: [OWASP_NHI.NHI7, OWASP_NHI.NHI9],
    why: "a TokenRequest token bound to no pod authenticated, but the NHI declares no ServiceAccountToken credential: its pods' tokens are the only expected ones",
    tune: "declare a ServiceAccountToken credential on the NHI if unbound tokens are intended",
  },
  "token-minted-elsewhere": {
    id: "token-minted-elsewhere",
    category: "token-replay",
    title: "Token minted by another identity is in use",
    severity: "high",
    owasp: [OWASP_NHI.NHI9, OWASP_NHI.NHI10],
    why: "the token's credential-id equals a TokenRequest's issued-credential-id made by someone other than the identity, a node or the operator: whoever minted it is using or handing out the identity",
    tune: "add the minting identity to the trusted minters (--trusted-minter) if it is a credential broker by design",
  },
  "secret-listing": {
    id: "secret-listing",
    category: "secret-harvesting",
    title: "Listing or watching Secrets",
    severity: "high",
    owasp: [OWASP_NHI.NHI2],
    why: "list/watch of Secrets returns every value in the namespace at once: the first step of harvesting credentials",
    tune: "declare it in the NHI's scopes if the workload needs it (then it is no finding)",
  },
  "secret-reads": {
    id: "secret-reads",
    category: "secret-harvesting",
    title: "Series of Secret reads",
    severity: "medium",
    owasp: [OWASP_NHI.NHI2],
    why: "one identity read several different Secrets in a short time, none of them declared",
    tune: "declare the Secrets (resourceNames) in the NHI's scopes; threshold and window: --secret-reads, --secret-reads-window",
  },
  "token-minting": {
    id: "token-minting",
    category: "secret-harvesting",
    title: "Token requested for another identity",
    severity: "high",
    owasp: [OWASP_NHI.NHI9, OWASP_NHI.NHI5],
    why: "serviceaccounts/token for a ServiceAccount other than itself: the identity can become another one",
    tune: "declare serviceaccounts/token with those resourceNames in the NHI's scopes if it is a credential broker by design",
  },
  "permission-probing": {
    id: "permission-probing",
    category: "secret-harvesting",
    title: "Asked for every permission it has",
    severity: "low",
    owasp: [OWASP_NHI.NHI10],
    why: "a SelfSubjectRulesReview lists everything the token may do (kubectl auth can-i --list): what people do with a token they found",
    tune: "low by design: it counts with --fail-on low, and joins a token-replay or enumeration finding as context",
  },
  "rbac-write": {
    id: "rbac-write",
    category: "privilege-change",
    title: "Wrote RBAC outside its scopes",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5],
    why: "a Role, ClusterRole or binding written (allowed: critical; denied: high) by an identity whose NHI does not declare it: the shortest path to more power",
    tune: "declare the RBAC writes in the NHI's scopes (an operator that manages RBAC)",
  },
  "webhook-write": {
    id: "webhook-write",
    category: "privilege-change",
    title: "Wrote admission webhook or policy configuration outside its scopes",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5],
    why: "an admission webhook sees (and can change) every object it matches, Secrets included",
    tune: "declare the writes in the NHI's scopes (an operator that registers its own webhook)",
  },
  "workload-as-other-identity": {
    id: "workload-as-other-identity",
    category: "privilege-change",
    title: "Created a workload that runs as another ServiceAccount",
    severity: "high",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI9],
    why: "a pod running as another ServiceAccount gets that identity's token: whoever can do this holds both identities' permissions",
    tune: "deploy through a pipeline identity declared for it; the controllers that make pods from their owners' templates are not reported",
  },
  "new-behaviour": {
    id: "new-behaviour",
    category: "new-behaviour",
    title: "New habit after the identity's learning window",
    severity: "medium",
    owasp: [OWASP_NHI.NHI2, OWASP_NHI.NHI10],
    why: "after learning its habits (sources: its own pod or a network; clients: the User-Agent's program; for an identity with no NHI also its requests), the identity did something it never did: a leaked token in new hands shows as a new source or client (medium); an unclaimed identity's new request is low, medium when it writes",
    tune: "the learning window (--learning-window, operator --audit-learning-window; default 24 h) and the caps (--baseline-max-habits); declare the identity in an NHI so its requests are judged against its scopes instead of its past; a baseline file (--baseline) carries what was learned across runs",
  },
};
