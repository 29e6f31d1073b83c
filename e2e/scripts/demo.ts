// `make demo`: nhi-operator in five minutes on a machine with no cluster. Starts the project's local
// control plane, installs the chart's CRDs and RBAC, runs the operator as the chart would (its
// ServiceAccount's token, its arguments; only the webhook's address is this machine, since no kubelet
// runs pods here), applies manifests/examples/ and a few unowned "legacy" identities, then prints the
// inventory, a credential being rotated and a real denied escalation. Ctrl-C stops everything it
// started (e2e/suites/demo.e2e.ts presses it). `--once` prints and stops.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlPlane } from "../harness/controlplane.js";
import {
  CHART_DIR,
  EXAMPLES_DIR,
  renderChart,
  startAsChart,
  stopProcess,
  withFlag,
  type K8sObject,
} from "../harness/chart.js";
import { freePort } from "../harness/ports.js";
import { waitFor } from "../harness/wait.js";
import type { Inventory, IdentityRecord } from "../../core/inventory/inventory.js";

const NS = "nhi-system";
const once = process.argv.includes("--once");
const say = (s = ""): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => void process.stderr.write(`demo: ${s}\n`);

/** Identities that predate the operator: nobody owns them, one holds a long-lived token. */
const LEGACY = `apiVersion: v1
kind: Namespace
metadata: { name: legacy }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: jenkins, namespace: legacy }
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: jenkins-token, namespace: legacy, annotations: { kubernetes.io/service-account.name: jenkins } }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: jenkins-edit, namespace: legacy }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit }
subjects: [{ kind: ServiceAccount, name: jenkins, namespace: legacy }]
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: backup, namespace: legacy }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: legacy-backup-reads-secrets }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: legacy-secret-reader }
subjects: [{ kind: ServiceAccount, name: backup, namespace: legacy }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: legacy-secret-reader }
rules: [{ apiGroups: [""], resources: [secrets], verbs: [get, list] }]
`;

/** The ServiceAccounts the examples claim (they would come with each team's workloads). */
function exampleAccounts(): string {
  const docs: string[] = [];
  for (const f of readdirSync(EXAMPLES_DIR).filter((x) => x.startsWith("nhi-"))) {
    const text = readFileSync(join(EXAMPLES_DIR, f), "utf8");
    const ns = /namespace: (\S+)/.exec(text)?.[1];
    const sa = /serviceAccountName: (\S+)/.exec(text)?.[1];
    if (ns && sa)
      docs.push(
        `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: { name: ${sa}, namespace: ${ns} }\n`,
      );
  }
  return docs.join("---\n");
}

function pad(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function inventoryTable(identities: IdentityRecord[]): string {
  const rows = identities
    .filter(
      (r) =>
        !["kube-system", "kube-public", "kube-node-lease"].includes(r.namespace) &&
        r.name !== "default",
    )
    .sort((a, b) => (b.risk.score ?? 0) - (a.risk.score ?? 0))
    .map((r) => {
      const top = [...(r.risk.factors ?? [])].sort((a, b) => b.points - a.points)[0];
      const next = r.credentials
        .map((c) => c.nextRotationAt)
        .filter((x): x is string => !!x)
        .sort()[0];
      return [
        `${r.namespace}/${r.name}`,
        r.nhi ?? "— (shadow)",
        r.owner?.team ?? "nobody",
        r.phase,
        String(r.risk.score ?? 0),
        top ? `${top.name} (+${top.points})` : "",
        next ?? "",
      ];
    });
  return pad([
    ["SERVICEACCOUNT", "NHI", "OWNER", "PHASE", "RISK", "TOP FACTOR", "NEXT ROTATION"],
    ...rows,
  ]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nhi-demo-"));
  step("starting the local control plane (etcd, kube-apiserver, kube-controller-manager)…");
  const plane = await ControlPlane.start({ scheduler: false });
  let operator: Awaited<ReturnType<typeof startAsChart>> | undefined;
  // Ctrl-C: the harness stops the plane; the operator goes first.
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.on(sig, () => operator?.proc.kill("SIGTERM"));
  process.on("exit", () => {
    operator?.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    step("installing the chart's CRDs and the legacy identities (they predate the operator)…");
    await plane.kubectlOk(["apply", "--server-side", "-f", join(CHART_DIR, "crds")]);
    await plane.kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/nonhumanidentities.nhi.io",
      "crd/nhipolicies.nhi.io",
    ]);
    await plane.kubectlOk(["apply", "-f", "-"], { input: LEGACY });
    await plane.kubectlOk(["apply", "-f", "-"], { input: exampleAccounts() });
    await waitFor(
      "the token controller to fill legacy/jenkins-token",
      async () =>
        (
          await plane.kubectl([
            "get",
            "secret",
            "jenkins-token",
            "-n",
            "legacy",
            "-o",
            "jsonpath={.data.token}",
          ])
        ).stdout !== "",
      { timeoutMs: 60_000 },
    );

    step("installing the chart's objects and running the operator as the chart does…");
    const port = await freePort();
    const metricsPort = await freePort();
    const rendered = renderChart(NS, [], plane.helmPath);
    const runsHere = (o: K8sObject): boolean =>
      [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "NonHumanIdentity",
        "NHIPolicy",
        "ValidatingWebhookConfiguration",
      ].includes(o.kind);
    // No kubelet runs the chart's pods here: the webhook configuration points at this machine instead of the Service.
    // The operator's own exemption (a pre-install hook) goes first, as Helm creates it: once the
    // webhook configuration exists, the webhook judges NHIPolicies.
    const preInstall = (o: K8sObject): boolean =>
      (o.metadata.annotations as Record<string, string> | undefined)?.["helm.sh/hook"] ===
      "pre-install";
    const ordered = [...rendered.filter(preInstall), ...rendered.filter((o) => !preInstall(o))];
    const here = ordered.filter(runsHere).map((o) =>
      o.kind !== "ValidatingWebhookConfiguration"
        ? o
        : {
            ...o,
            webhooks: (o.webhooks as Record<string, unknown>[]).map((w) => ({
              ...w,
              clientConfig: { url: `https://127.0.0.1:${port}/validate` },
            })),
          },
    );
    await plane.kubectlOk(["create", "namespace", NS]);
    await plane.kubectlOk(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: here }),
    });
    const pod = (
      rendered.find((o) => o.kind === "Deployment")?.spec as {
        template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } };
      }
    ).template.spec;
    const args = [
      ...withFlag(
        withFlag(pod.containers[0]?.args ?? [], "--port", String(port)),
        "--metrics-port",
        String(metricsPort),
      ),
      "--cert-names",
      "127.0.0.1",
    ];
    operator = await startAsChart(plane, NS, pod.serviceAccountName, args, dir);
    const logs = operator.logs;
    await waitFor(
      "the operator to serve its webhook (caBundle patched, ready)",
      async () => {
        if (operator?.proc.exitCode !== null)
          throw new Error(`the operator exited: ${logs().slice(-2000)}`);
        return (
          logs().includes("patched the caBundle") &&
          (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
            (r) => r.ok,
            () => false,
          ))
        );
      },
      { timeoutMs: 120_000, describe: () => logs().slice(-1500) },
    );

    step(
      "applying manifests/examples/ through the webhook (the CI deployer's token lives 10m here, renewed after 10s)…",
    );
    for (const f of readdirSync(EXAMPLES_DIR)
      .filter((x) => x.endsWith(".yaml"))
      .sort((a, b) => Number(a.startsWith("nhipolicy")) - Number(b.startsWith("nhipolicy")))) {
      let text = readFileSync(join(EXAMPLES_DIR, f), "utf8");
      if (f === "nhi-ci-deployer.yaml")
        text = text.replace("ttl: 8h", "ttl: 10m").replace("renewBefore: 2h", "renewBefore: 9m50s");
      await plane.kubectlOk(["apply", "-f", "-"], { input: text });
    }
    const generation = async (): Promise<number> =>
      Number(
        (
          await plane.kubectl([
            "get",
            "secret",
            "deployer-kubeconfig",
            "-n",
            "ci",
            "-o",
            "jsonpath={.metadata.annotations.nhi\\.io/generation}",
          ])
        ).stdout || "0",
      );
    await waitFor(
      "the CI deployer's token to be renewed (generation 2)",
      async () => (await generation()) >= 2,
      { timeoutMs: 120_000, describe: () => logs().slice(-1500) },
    );
    const inventory = await waitFor(
      "the inventory to list every example",
      async () => {
        const r = await fetch(`http://127.0.0.1:${metricsPort}/inventory`).catch(() => undefined);
        if (!r?.ok) return undefined;
        const inv = (await r.json()) as Inventory;
        return inv.identities.some((i) => i.nhi === "deployer") &&
          inv.identities.some((i) => i.name === "jenkins")
          ? inv
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const events = await plane.kubectlOk([
      "get",
      "events",
      "-n",
      "ci",
      "--field-selector",
      "involvedObject.name=deployer",
      "--sort-by=.lastTimestamp",
      "-o",
      "custom-columns=TIME:.lastTimestamp,REASON:.reason,MESSAGE:.message",
      "--no-headers",
    ]);
    const escalation = [
      "create",
      "clusterrolebinding",
      "ci-deployer-admin",
      "--clusterrole=cluster-admin",
      "--serviceaccount=ci:deployer",
    ];
    const denied = await plane.kubectl(escalation);

    say("═══ nhi-operator demo ═══════════════════════════════════════════════════════════════");
    say(
      "Inventory — every ServiceAccount, claimed by a NonHumanIdentity or shadow (GET /inventory):",
    );
    say(inventoryTable(inventory.identities));
    say();
    say(
      `Credential rotation — ci/deployer-kubeconfig (ServiceAccountToken; generation ${await generation()}, a kubeconfig the pipeline reads):`,
    );
    say(
      events
        .split("\n")
        .filter((l) => /Credential|Rotation/.test(l))
        .map((l) => `  ${l.replace(/\s+/g, " ").trim()}`)
        .join("\n"),
    );
    say();
    say(`Escalation denied — $ kubectl ${escalation.join(" ")}`);
    say(
      `  exit ${denied.code}: ${(denied.stderr || denied.stdout).trim().split("\n").join("\n  ")}`,
    );
    say("══════════════════════════════════════════════════════════════════════════════════════");
    if (!once) {
      say(
        `The cluster keeps running: export KUBECONFIG=${plane.kubeconfigPath}; kubectl get nhi -A`,
      );
      say("Ctrl-C stops the operator and the control plane.");
      await new Promise(() => undefined);
    }
  } finally {
    if (operator) await stopProcess(operator.proc, operator.exited);
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
