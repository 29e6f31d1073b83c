// JavaScript mirrors of the CRDs' CEL rules (x-kubernetes-validations), keyed by the rule's exact text,
// so the offline validator gives the API server's answers with the API server's messages (the message
// and fieldPath are read from the CRD; only the logic lives here). createValidator refuses a CRD whose
// rule has no mirror, and a unit test checks that every mirror is used, so the two cannot drift apart.
import { tryParseDuration } from "./duration.js";
import { isRecord } from "../json.js";

/** true: the rule holds. false: it fails. undefined: not evaluable (a schema error already covers it). */
export type CelMirror = (self: unknown, oldSelf?: unknown) => boolean | undefined;

export interface CelMirrorEntry {
  check: CelMirror;
  /** What would be valid, for FieldError.fix (the CRD message says what is wrong). */
  fix: string;
  /** Transition rules (oldSelf) are evaluated only on updates. */
  transition?: boolean;
}

type Obj = Record<string, unknown>;

/** CEL has(): the field is present. */
const has = (o: Obj, k: string): boolean => o[k] !== undefined && o[k] !== null;
const dur = (v: unknown): number | undefined =>
  typeof v === "string" ? tryParseDuration(v) : undefined;

/** Wraps a check on an object node: non-objects are not evaluable. */
function onObject(f: (o: Obj) => boolean | undefined): CelMirror {
  return (self) => (isRecord(self) ? f(self) : undefined);
}

/** `!has(a) || !has(b) || duration(a) < duration(b)` */
function shorterThan(a: string, b: string): CelMirror {
  return onObject((o) => {
    if (!has(o, a) || !has(o, b)) return true;
    const x = dur(o[a]);
    const y = dur(o[b]);
    return x === undefined || y === undefined ? undefined : x < y;
  });
}

/** `duration(self) <op> duration(limit)` on a string node. */
function durationAtLeast(limit: string, strict: boolean): CelMirror {
  const min = tryParseDuration(limit) ?? 0;
  return (self) => {
    const d = dur(self);
    if (d === undefined) return undefined;
    return strict ? d > min : d >= min;
  };
}

/** `self.type <in types> || !has(self.<field>)`: the field is allowed only for these types. */
function onlyForTypes(field: string, ...types: string[]): CelMirror {
  return onObject((o) =>
    typeof o.type === "string" ? types.includes(o.type) || !has(o, field) : undefined,
  );
}

/** `self.type != '<type>' || has(self.<field>)`: the field is required for this type. */
function requiredForType(field: string, type: string): CelMirror {
  return onObject((o) =>
    typeof o.type === "string" ? o.type !== type || has(o, field) : undefined,
  );
}

const labelRequirement: CelMirrorEntry = {
  check: onObject((o) => {
    const values = Array.isArray(o.values) ? o.values : undefined;
    if (o.values !== undefined && values === undefined) return undefined;
    const n = values?.length ?? 0;
    return o.operator === "In" || o.operator === "NotIn" ? n > 0 : n === 0;
  }),
  fix: "list values for In and NotIn; remove values for Exists and DoesNotExist",
};

export const CEL_MIRRORS: Readonly<Record<string, CelMirrorEntry>> = {
  // --- NonHumanIdentity ---
  "self == oldSelf": {
    check: (self, oldSelf) => self === oldSelf,
    fix: "restore the previous value, or create a new NonHumanIdentity for the other ServiceAccount",
    transition: true,
  },
  "has(self.resources) != has(self.nonResourceURLs)": {
    check: onObject((o) => has(o, "resources") !== has(o, "nonResourceURLs")),
    fix: "give the scope either resources (with apiGroups) or nonResourceURLs, not both and not neither",
  },
  "!has(self.resources) || has(self.apiGroups)": {
    check: onObject((o) => !has(o, "resources") || has(o, "apiGroups")),
    fix: 'add apiGroups, e.g. apiGroups: [""] for core resources such as configmaps, [apps] for deployments',
  },
  "!has(self.nonResourceURLs) || (!has(self.apiGroups) && !has(self.resourceNames))": {
    check: onObject(
      (o) => !has(o, "nonResourceURLs") || (!has(o, "apiGroups") && !has(o, "resourceNames")),
    ),
    fix: "remove apiGroups and resourceNames from the scope with nonResourceURLs",
  },
  "!has(self.nonResourceURLs) || self.namespaces == ['*']": {
    check: onObject((o) => {
      if (!has(o, "nonResourceURLs")) return true;
      return Array.isArray(o.namespaces) && o.namespaces.length === 1 && o.namespaces[0] === "*";
    }),
    fix: 'set namespaces: ["*"] on the scope with nonResourceURLs',
  },
  "!self.exists(n, n == '*') || size(self) == 1": {
    check: (self) => (Array.isArray(self) ? !self.includes("*") || self.length === 1 : undefined),
    fix: 'use either namespaces: ["*"] (cluster-wide) or a list of namespace names',
  },
  "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)":
    labelRequirement,
  "self.all(c, self.exists_one(d, d.secretName == c.secretName))": {
    check: (self) => {
      if (!Array.isArray(self)) return undefined;
      const names = self.map((c) => (isRecord(c) ? c.secretName : undefined));
      return names.every((n) => names.filter((m) => m === n).length === 1);
    },
    fix: "give each credential a different secretName",
  },
  "self.type == 'ServiceAccountToken' || !has(self.ttl)": {
    check: onlyForTypes("ttl", "ServiceAccountToken"),
    fix: "remove ttl (use maxAge for Generated and External credentials)",
  },
  "self.type != 'ServiceAccountToken' || has(self.ttl)": {
    check: requiredForType("ttl", "ServiceAccountToken"),
    fix: "add ttl, e.g. ttl: 1h",
  },
  "self.type == 'ServiceAccountToken' || !has(self.audiences)": {
    check: onlyForTypes("audiences", "ServiceAccountToken"),
    fix: "remove audiences",
  },
  "self.type != 'Generated' || !has(self.renewBefore)": {
    check: onObject((o) =>
      typeof o.type === "string" ? o.type !== "Generated" || !has(o, "renewBefore") : undefined,
    ),
    fix: "remove renewBefore; a Generated credential is rotated at maxAge and gracePeriod keeps the old value valid",
  },
  "self.type == 'Generated' || !has(self.length)": {
    check: onlyForTypes("length", "Generated"),
    fix: "remove length",
  },
  "self.type == 'Generated' || !has(self.encoding)": {
    check: onlyForTypes("encoding", "Generated"),
    fix: "remove encoding",
  },
  "self.type == 'Generated' || !has(self.gracePeriod)": {
    check: onlyForTypes("gracePeriod", "Generated"),
    fix: "remove gracePeriod",
  },
  "self.type in ['Generated', 'Certificate'] || !has(self.key)": {
    check: onlyForTypes("key", "Generated", "Certificate"),
    fix: "remove key",
  },
  "self.type in ['Generated', 'External'] || !has(self.maxAge)": {
    check: onlyForTypes("maxAge", "Generated", "External"),
    fix: "remove maxAge (use ttl for ServiceAccountToken; renewBefore for Certificate)",
  },
  "self.type != 'Generated' || has(self.maxAge)": {
    check: requiredForType("maxAge", "Generated"),
    fix: "add maxAge, e.g. maxAge: 720h",
  },
  "self.type == 'External' || !has(self.expiryJSONPath)": {
    check: onlyForTypes("expiryJSONPath", "External"),
    fix: "remove expiryJSONPath",
  },
  "!has(self.renewBefore) || !has(self.ttl) || duration(self.renewBefore) < duration(self.ttl)": {
    check: shorterThan("renewBefore", "ttl"),
    fix: "make renewBefore shorter than ttl, e.g. a third of it",
  },
  "!has(self.renewBefore) || !has(self.maxAge) || duration(self.renewBefore) < duration(self.maxAge)":
    {
      check: shorterThan("renewBefore", "maxAge"),
      fix: "make renewBefore shorter than maxAge",
    },
  "!has(self.gracePeriod) || !has(self.maxAge) || duration(self.gracePeriod) < duration(self.maxAge)":
    {
      check: shorterThan("gracePeriod", "maxAge"),
      fix: "make gracePeriod shorter than maxAge",
    },
  "duration(self) >= duration('10m')": {
    check: durationAtLeast("10m", false),
    fix: "use a duration of at least 10m",
  },
  "duration(self) > duration('0s')": {
    check: durationAtLeast("0s", true),
    fix: "use a duration greater than 0s",
  },
  "duration(self) >= duration('1h')": {
    check: durationAtLeast("1h", false),
    fix: "use a duration of at least 1h",
  },
  "has(self.expiresAt) || has(self.unusedAfter)": {
    check: onObject((o) => has(o, "expiresAt") || has(o, "unusedAfter")),
    fix: "add expiresAt or unusedAfter, or remove lifetime",
  },
  // --- NHIPolicy ---
  "has(self.namespaces) || has(self.serviceAccounts)": {
    check: onObject((o) => has(o, "namespaces") || has(o, "serviceAccounts")),
    fix: "add namespaces or serviceAccounts (namespace/name) to the exemption",
  },
  "has(self.rules) || !((has(self.namespaces) && self.namespaces.exists(n, n == '*')) || (has(self.serviceAccounts) && self.serviceAccounts.exists(s, s == '*/*')))":
    {
      check: onObject((o) => {
        if (has(o, "rules")) return true;
        const ns = Array.isArray(o.namespaces) ? o.namespaces : [];
        const sas = Array.isArray(o.serviceAccounts) ? o.serviceAccounts : [];
        return !(ns.includes("*") || sas.includes("*/*"));
      }),
      fix: "list the catalogue ids under rules, e.g. rules: [nodes-proxy], or narrow namespaces/serviceAccounts",
    },
  "!has(self.annotation) || !has(self.reasonAnnotation) || self.annotation != self.reasonAnnotation":
    {
      check: onObject(
        (o) =>
          !has(o, "annotation") ||
          !has(o, "reasonAnnotation") ||
          o.annotation !== o.reasonAnnotation,
      ),
      fix: "use two different annotations, e.g. nhi.io/break-glass and nhi.io/break-glass-reason",
    },
  "has(self.unclaimedHighPermissions) || has(self.requireClaim) || has(self.transitiveEscalation)":
    {
      check: onObject(
        (o) =>
          has(o, "unclaimedHighPermissions") ||
          has(o, "requireClaim") ||
          has(o, "transitiveEscalation"),
      ),
      fix: "add requireClaim, unclaimedHighPermissions or transitiveEscalation to the override, or remove it",
    },
};
