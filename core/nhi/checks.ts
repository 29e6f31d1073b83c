// Semantic checks beyond the CRD: mistakes the API server accepts but that leave an identity broken
// or wider than its owners meant. Each check is small and named (cert-manager's policy chain, see
// STYLE.md), reads the defaulted object defensively (schema errors are reported separately) and returns
// FieldErrors with the path and the fix.
import { imageGlobProblems } from "./images.js";
import { isDnsLabel, isDnsSubdomain, qualifiedNameProblems } from "./names.js";
import { isRecord } from "../json.js";
import type { FieldError, ValidateOptions } from "./validation.js";

type Obj = Record<string, unknown>;

export interface NamedCheck {
  name: string;
  run(obj: Obj, options: ValidateOptions): FieldError[];
}

const obj = (v: unknown): Obj | undefined => (isRecord(v) ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function invalid(path: string, message: string, fix: string): FieldError {
  return { path, message, fix, reason: "Invalid" };
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

const metadata: NamedCheck = {
  name: "metadata",
  run(o) {
    const m = obj(o.metadata);
    if (m === undefined)
      return [
        {
          path: "metadata",
          message: "Required value",
          fix: "add metadata with a name",
          reason: "Required",
        },
      ];
    const errors: FieldError[] = [];
    const name = str(m.name);
    if (name === undefined && str(m.generateName) === undefined) {
      errors.push({
        path: "metadata.name",
        message: "Required value",
        fix: "add metadata.name, e.g. orders-api",
        reason: "Required",
      });
    } else if (name !== undefined && !isDnsSubdomain(name)) {
      errors.push(
        invalid(
          "metadata.name",
          `Invalid value: ${JSON.stringify(name)}: must be a lowercase DNS subdomain`,
          "use lowercase letters, digits, '-' and '.', at most 253 characters, e.g. orders-api",
        ),
      );
    }
    const ns = m.namespace;
    if (ns !== undefined && (typeof ns !== "string" || !isDnsLabel(ns))) {
      errors.push(
        invalid(
          "metadata.namespace",
          `Invalid value: ${JSON.stringify(ns)}: must be a namespace name`,
          "use lowercase letters, digits and '-', at most 63 characters",
        ),
      );
    }
    return errors;
  },
};

function selectorErrors(selector: unknown, path: string): FieldError[] {
  const s = obj(selector);
  if (s === undefined) return [];
  const errors: FieldError[] = [];
  for (const key of Object.keys(obj(s.matchLabels) ?? {})) {
    for (const p of qualifiedNameProblems(key)) {
      errors.push(
        invalid(
          `${path}.matchLabels.${key}`,
          `Invalid label key ${JSON.stringify(key)}: ${p}`,
          "use a key such as app or app.kubernetes.io/name",
        ),
      );
    }
  }
  list(s.matchExpressions).forEach((e, i) => {
    const key = str(obj(e)?.key);
    if (key === undefined) return;
    for (const p of qualifiedNameProblems(key)) {
      errors.push(
        invalid(
          `${path}.matchExpressions[${i}].key`,
          `Invalid label key ${JSON.stringify(key)}: ${p}`,
          "use a key such as app or app.kubernetes.io/name",
        ),
      );
    }
  });
  return errors;
}

// ---------------------------------------------------------------------------------------------
// NonHumanIdentity
// ---------------------------------------------------------------------------------------------

/** RBAC mistakes the API server stores happily but that never match what the owners meant. */
const scopeRules: NamedCheck = {
  name: "scope-rules",
  run(o) {
    const errors: FieldError[] = [];
    list(obj(o.spec)?.scopes).forEach((scope, i) => {
      const s = obj(scope);
      if (s === undefined) return;
      const base = `spec.scopes[${i}]`;
      list(s.apiGroups).forEach((g, j) => {
        if (typeof g !== "string") return;
        const path = `${base}.apiGroups[${j}]`;
        if (g === "core" || g === "v1") {
          errors.push(
            invalid(
              path,
              `Invalid value: ${JSON.stringify(g)}: the core API group is named "" (the empty string)`,
              'use apiGroups: [""] for pods, secrets, configmaps and other core resources',
            ),
          );
        } else if (g.includes("/")) {
          errors.push(
            invalid(
              path,
              `Invalid value: ${JSON.stringify(g)}: apiGroups hold group names without a version`,
              `use ${JSON.stringify(g.split("/")[0] ?? "")}`,
            ),
          );
        }
      });
      list(s.resources).forEach((r, j) => {
        if (typeof r !== "string") return;
        const path = `${base}.resources[${j}]`;
        if (/[A-Z]/.test(r)) {
          errors.push(
            invalid(
              path,
              `Invalid value: ${JSON.stringify(r)}: resources are lowercase plural names, not kinds`,
              `use ${JSON.stringify(r.toLowerCase().endsWith("s") ? r.toLowerCase() : `${r.toLowerCase()}s`)} (kubectl api-resources lists them)`,
            ),
          );
        } else if (r.endsWith("/*") && r !== "*/*") {
          errors.push(
            invalid(
              path,
              `Invalid value: ${JSON.stringify(r)}: RBAC does not expand "/*" after a resource, so this matches only a subresource literally named "*"`,
              `list the subresources (e.g. ${r.slice(0, -2)}/log), or use "*/<subresource>" for one subresource of every resource`,
            ),
          );
        }
      });
      list(s.verbs).forEach((v, j) => {
        if (typeof v === "string" && /[A-Z]/.test(v)) {
          errors.push(
            invalid(
              `${base}.verbs[${j}]`,
              `Invalid value: ${JSON.stringify(v)}: verbs are lowercase, so this matches no request`,
              `use ${JSON.stringify(v.toLowerCase())}`,
            ),
          );
        }
      });
    });
    return errors;
  },
};

const workloadSelector: NamedCheck = {
  name: "workload-selector",
  run: (o) =>
    selectorErrors(obj(obj(o.spec)?.workloads)?.podSelector, "spec.workloads.podSelector"),
};

const workloadImages: NamedCheck = {
  name: "workload-images",
  run(o) {
    const errors: FieldError[] = [];
    list(obj(obj(o.spec)?.workloads)?.images).forEach((g, i) => {
      if (typeof g !== "string") return;
      for (const p of imageGlobProblems(g))
        errors.push(invalid(`spec.workloads.images[${i}]`, p.message, p.fix));
    });
    return errors;
  },
};

// $.metadata.annotations['k'], $.metadata.labels.k, $.data['k'] (one field; the operator reads no more).
const JSONPATH_TOKEN = /^(?:\.([A-Za-z_][-A-Za-z0-9_]*)|\['([^']*)'\]|\["([^"]*)"\])/;

function jsonPathTokens(path: string): string[] | undefined {
  if (!path.startsWith("$")) return undefined;
  const tokens: string[] = [];
  let rest = path.slice(1);
  while (rest !== "") {
    const m = JSONPATH_TOKEN.exec(rest);
    if (!m) return undefined;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? "");
    rest = rest.slice(m[0].length);
  }
  return tokens;
}

const expiryJsonPath: NamedCheck = {
  name: "expiry-json-path",
  run(o) {
    const errors: FieldError[] = [];
    list(obj(o.spec)?.credentials).forEach((c, i) => {
      const p = str(obj(c)?.expiryJSONPath);
      if (p === undefined) return;
      const t = jsonPathTokens(p);
      const ok =
        t !== undefined &&
        ((t.length === 3 &&
          t[0] === "metadata" &&
          (t[1] === "annotations" || t[1] === "labels") &&
          t[2] !== "") ||
          (t.length === 2 && t[0] === "data" && t[1] !== ""));
      if (!ok) {
        errors.push(
          invalid(
            `spec.credentials[${i}].expiryJSONPath`,
            `Invalid value: ${JSON.stringify(p)}: must select one field of the Secret (no wildcards, filters or recursive descent)`,
            "use $.metadata.annotations['<key>'], $.metadata.labels['<key>'] or $.data['<key>']",
          ),
        );
      }
    });
    return errors;
  },
};

/** Only with a clock from the caller: core has none. */
const lifetimeExpiry: NamedCheck = {
  name: "lifetime-expiry",
  run(o, options) {
    const expiresAt = str(obj(obj(o.spec)?.lifetime)?.expiresAt);
    if (options.now === undefined || expiresAt === undefined) return [];
    const t = Date.parse(expiresAt);
    if (Number.isNaN(t) || t > options.now.getTime()) return [];
    return [
      invalid(
        "spec.lifetime.expiresAt",
        `Invalid value: ${JSON.stringify(expiresAt)}: the identity expired (now is ${options.now.toISOString()})`,
        "move expiresAt into the future, or remove the NonHumanIdentity and its ServiceAccount",
      ),
    ];
  },
};

export const NHI_CHECKS: readonly NamedCheck[] = [
  metadata,
  scopeRules,
  workloadSelector,
  workloadImages,
  expiryJsonPath,
  lifetimeExpiry,
];

// ---------------------------------------------------------------------------------------------
// NHIPolicy
// ---------------------------------------------------------------------------------------------

const catalogueIds: NamedCheck = {
  name: "catalogue-ids",
  run(o, options) {
    const known = options.knownRuleIds;
    if (known === undefined) return [];
    const spec = obj(o.spec);
    const errors: FieldError[] = [];
    const check = (id: unknown, path: string): void => {
      if (typeof id === "string" && !known.has(id)) {
        const allowed = [...known].sort();
        errors.push({
          path,
          message: `Unsupported value: ${JSON.stringify(id)}: not an escalation-catalogue id`,
          fix: `use one of: ${allowed.join(", ")}`,
          allowed,
          reason: "Unsupported",
        });
      }
    };
    list(spec?.forbidden).forEach((id, i) => check(id, `spec.forbidden[${i}]`));
    list(spec?.exemptions).forEach((e, i) =>
      list(obj(e)?.rules).forEach((id, j) => check(id, `spec.exemptions[${i}].rules[${j}]`)),
    );
    return errors;
  },
};

/** The webhook evaluates valuePattern as RE2 (Go); this catches what neither JavaScript nor RE2 accepts. */
const changeRequestPattern: NamedCheck = {
  name: "change-request-pattern",
  run(o) {
    const p = str(obj(obj(o.spec)?.requireChangeRequest)?.valuePattern);
    if (p === undefined) return [];
    const path = "spec.requireChangeRequest.valuePattern";
    if (/\(\?<?[=!]|\\[1-9]/.test(p)) {
      return [
        invalid(
          path,
          `Invalid value: ${JSON.stringify(p)}: RE2 has no lookaround or backreferences`,
          "rewrite it without (?=, (?!, (?<=, (?<! and \\1, e.g. ^CHG-[0-9]+$",
        ),
      ];
    }
    try {
      new RegExp(p, "u");
      return [];
    } catch (e) {
      return [
        invalid(
          path,
          `Invalid value: ${JSON.stringify(p)}: not a regular expression (${e instanceof Error ? e.message : String(e)})`,
          "write a regular expression such as ^CHG-[0-9]+$",
        ),
      ];
    }
  },
};

const overrideSelectors: NamedCheck = {
  name: "override-selectors",
  run(o) {
    const errors: FieldError[] = [];
    const seen: Array<{ key: string; i: number }> = [];
    list(obj(o.spec)?.overrides).forEach((ov, i) => {
      const sel = obj(ov)?.namespaceSelector;
      const path = `spec.overrides[${i}].namespaceSelector`;
      errors.push(...selectorErrors(sel, path));
      const s = obj(sel);
      if (s === undefined) return;
      // First match wins: an override after an identical or match-everything selector never applies.
      const key = JSON.stringify({
        l: Object.entries(obj(s.matchLabels) ?? {}).sort(),
        e: s.matchExpressions ?? [],
      });
      const shadow = seen.find((x) => x.key === key || x.key === JSON.stringify({ l: [], e: [] }));
      if (shadow) {
        errors.push(
          invalid(
            path,
            `overrides[${i}] never applies: overrides[${shadow.i}] comes first and matches every namespace this one matches`,
            `merge it into overrides[${shadow.i}], or move it before`,
          ),
        );
      }
      seen.push({ key, i });
    });
    return errors;
  },
};

export const POLICY_CHECKS: readonly NamedCheck[] = [
  metadata,
  catalogueIds,
  changeRequestPattern,
  overrideSelectors,
];

/** Exposed for tests and for listing in `nhictl explain`. */
export const CHECK_NAMES = [...new Set([...NHI_CHECKS, ...POLICY_CHECKS].map((c) => c.name))];
