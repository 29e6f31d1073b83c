// nhictl check on a 20,000-object manifest stream (issue 6): parse (with line tracking), build the
// snapshot, run every check, format the report. Target: < 5 s end to end.
import { loadCrdDocuments } from "../crds/load.js";
import { createValidator } from "../core/nhi/validate.js";
import { ADMISSION_RULE_IDS } from "../core/policy/nhi-write.js";
import { runCheck } from "../cli/check.js";
import { formatJson } from "../cli/format.js";
import { parseStream } from "../cli/load.js";
import { buildManifestSet } from "../cli/snapshot.js";
import { type Benchmark, type Figure, now, rng } from "./harness.js";

export const OBJECTS = 20_000;

/** Per namespace: Namespace, 3 ServiceAccounts, 2 NHIs, 2 Roles, 3 RoleBindings, a Deployment, a ConfigMap, a Secret = 14 objects. */
export function syntheticStream(objects: number = OBJECTS): string {
  const random = rng(6);
  const docs: string[] = [];
  for (let n = 0; docs.length < objects; n++) {
    const ns = `team-${n}`;
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels: { team: "${n}" }`);
    for (const sa of ["api", "worker", "cron"]) docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${sa}\n  namespace: ${ns}`);
    for (const sa of ["api", "worker"]) {
      docs.push(`apiVersion: nhi.io/v1alpha1\nkind: NonHumanIdentity\nmetadata:\n  name: ${sa}\n  namespace: ${ns}\nspec:\n  owner: { team: team-${n}, contact: team-${n}@example.com }\n  purpose: Synthetic ${sa}\n  serviceAccountName: ${sa}\n  scopes:\n    - { namespaces: [${ns}], apiGroups: [""], resources: [configmaps], verbs: [get, list, watch] }\n  workloads:\n    podSelector: { matchLabels: { app: ${sa} } }`);
    }
    const extra = random() < 0.1 ? `\n  - apiGroups: [""]\n    resources: [secrets]\n    verbs: [get]` : "";
    docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: config-reader\n  namespace: ${ns}\nrules:\n  - apiGroups: [""]\n    resources: [configmaps]\n    verbs: [get, list, watch]${extra}`);
    docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: jobs\n  namespace: ${ns}\nrules:\n  - apiGroups: [batch]\n    resources: [jobs]\n    verbs: [get, list, create]`);
    for (const sa of ["api", "worker"]) {
      docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${sa}-config\n  namespace: ${ns}\nsubjects:\n  - { kind: ServiceAccount, name: ${sa} }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-reader }`);
    }
    docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: cron-jobs\n  namespace: ${ns}\nsubjects:\n  - { kind: ServiceAccount, name: cron }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${random() < 0.05 ? "edit" : "view"} }`);
    docs.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: ${ns}\nspec:\n  selector: { matchLabels: { app: api } }\n  template:\n    metadata:\n      labels: { app: api }\n    spec:\n      serviceAccountName: api\n      containers:\n        - { name: api, image: "registry.example.com/${ns}/api:1" }`);
    docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  level: info`);
    docs.push(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ${ns}\ntype: Opaque\nstringData:\n  password: not-a-real-password`);
  }
  return docs.slice(0, objects).join("\n---\n");
}

export const cliCheckBenchmark: Benchmark = {
  name: "cli-check",
  description: `nhictl check over a ${OBJECTS.toLocaleString("en-US")}-object manifest stream (parse, snapshot, every check, JSON report)`,
  run(): Figure[] {
    const text = syntheticStream();
    const validator = createValidator(loadCrdDocuments());
    const clock = new Date("2026-06-01T00:00:00Z");
    const t0 = now();
    const loaded = parseStream(text, "<stdin>");
    const t1 = now();
    const set = buildManifestSet(loaded, { validator, now: clock, knownRuleIds: new Set(ADMISSION_RULE_IDS) });
    const t2 = now();
    const report = runCheck(set, ["<stdin>"], { policies: [], strict: false, now: clock }, validator);
    const t3 = now();
    const out = formatJson(report);
    const t4 = now();
    return [
      { label: "objects in the stream", value: loaded.length, unit: "count" },
      { label: "parse YAML with line positions", value: t1 - t0, unit: "ms" },
      { label: "build snapshot (shape checks, NHI validation)", value: t2 - t1, unit: "ms" },
      { label: "run every check", value: t3 - t2, unit: "ms" },
      { label: `format JSON (${report.violations.length} violations, ${report.warnings.length} warnings, ${Math.round(out.length / 1024)} KiB)`, value: t4 - t3, unit: "ms" },
      { label: "total: check a 20,000-object stream", value: t4 - t0, unit: "ms", target: "< 5000 ms" },
    ];
  },
};
