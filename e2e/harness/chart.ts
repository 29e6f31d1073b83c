// The Helm chart (charts/nhi-operator) rendered by the real helm binary, for unit and e2e tests.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT, resolveHelm } from "./binaries.js";

export const CHART_DIR = join(REPO_ROOT, "charts", "nhi-operator");

/** Values that turn every optional template on (ServiceMonitor, PrometheusRule, NetworkPolicy, default NHIPolicy, cert-manager). */
export const ALL_FEATURES_ON = [
  "--set", "certManager.enabled=true", "--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
  "--set", "networkPolicy.enabled=true", "--set", "defaultPolicy.enabled=true",
];

export interface HelmResult { status: number; stdout: string; stderr: string }

export function helm(args: string[], helmPath: string = resolveHelm()): HelmResult {
  const r = spawnSync(helmPath, args, { encoding: "utf8", timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
}

export interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown }

/** `helm template` of the chart; throws with helm's message when it fails. */
export function renderChart(namespace: string, extra: string[] = [], helmPath?: string): K8sObject[] {
  const r = helm(["template", "nhi-operator", CHART_DIR, "--namespace", namespace, ...extra], helmPath);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
}

export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`the chart renders no ${kind}${name ? ` ${name}` : ""} (has: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")})`);
  return o;
}
