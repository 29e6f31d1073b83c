// A ClusterView over a fixed snapshot: unit tests, the benchmark and the CLI-like paths.
import { IdentityGraph } from "../../../core/graph/graph.js";
import {
  identityDirectory,
  indexSnapshot,
  secretLookups,
  type ClusterSnapshot,
} from "../../../core/snapshot.js";
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
  const secrets = secretLookups(snapshot.secrets);
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
    secretType: secrets.secretType,
    tokenSecretAccount: secrets.tokenSecretAccount,
    namespaceLabels: (ns) => labels.get(ns),
    policyAt: (now) => resolver.at(now),
    synced: () => true,
    identityGraph: () => (graph ??= IdentityGraph.fromSnapshot(snapshot, index)),
  };
}
