// A ClusterView over a fixed snapshot: unit tests, the benchmark and the CLI-like paths.
import { IdentityGraph } from "../../../core/graph/graph.js";
import { identityDirectory, indexSnapshot, type ClusterSnapshot } from "../../../core/snapshot.js";
import type { EffectivePolicy } from "../../../core/policy/settings.js";
import { PolicyResolver, type ClusterView } from "./view.js";

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export function snapshotView(snapshot: ClusterSnapshot, base?: EffectivePolicy): ClusterView {
  const index = indexSnapshot(snapshot);
  const directory = identityDirectory(snapshot.nhis);
  const sas = new Map(
    snapshot.serviceAccounts.map((sa) => [
      key(sa.metadata.namespace ?? "default", sa.metadata.name),
      sa,
    ]),
  );
  const secrets = new Map(
    snapshot.secrets.map((s) => [
      key(s.metadata.namespace ?? "default", s.metadata.name),
      s.type ?? "Opaque",
    ]),
  );
  const labels = new Map(
    snapshot.namespaces.map((n) => [n.metadata.name, n.metadata.labels ?? {}]),
  );
  const resolver = new PolicyResolver(base);
  resolver.set(snapshot.policies);
  let graph: IdentityGraph | undefined;
  return {
    index,
    directory,
    serviceAccount: (ns, name) => sas.get(key(ns, name)),
    secretType: (ns, name) => secrets.get(key(ns, name)),
    namespaceLabels: (ns) => labels.get(ns),
    policyAt: (now) => resolver.at(now),
    synced: () => true,
    identityGraph: () => (graph ??= IdentityGraph.fromSnapshot(snapshot, index)),
  };
}
