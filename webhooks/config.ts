// The ValidatingWebhookConfiguration nhi-operator registers (make run, e2e) and ships
// (manifests/webhook/validating-webhook-configuration.yaml is this object for the in-cluster Service;
// a unit test keeps the two equal).
export const WEBHOOK_CONFIGURATION_NAME = "nhi-operator";
export const WEBHOOK_NAME = "validate.nhi.io";

export type FailurePolicy = "Fail" | "Ignore";

export interface WebhookConfigOptions {
  /** Out-of-cluster: the webhook's URL. */
  url?: string;
  /** In-cluster: the Service in front of the replicas. */
  service?: { namespace: string; name: string; port?: number };
  /** PEM of the CA that signed the serving certificate; absent: patched in later. */
  caBundlePem?: string;
  /** The namespace nhi-operator runs in: never judged, so it cannot lock itself out. */
  ownNamespace: string;
  /**
   * Fail (default): a request the webhook cannot answer is refused, so no escalation slips through
   * while it is down, at the price of blocking covered writes during an outage (kube-system and its
   * own namespace stay writable). Ignore: an outage lets everything through unjudged.
   */
  failurePolicy?: FailurePolicy;
  timeoutSeconds?: number;
}

const CREATE_UPDATE = ["CREATE", "UPDATE"];

export const WEBHOOK_RULES = [
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    apiVersions: ["v1"],
    operations: CREATE_UPDATE,
    resources: ["roles", "clusterroles", "rolebindings", "clusterrolebindings"],
    scope: "*",
  },
  {
    apiGroups: [""],
    apiVersions: ["v1"],
    operations: CREATE_UPDATE,
    resources: ["pods", "replicationcontrollers", "secrets"],
    scope: "Namespaced",
  },
  {
    apiGroups: [""],
    apiVersions: ["v1"],
    operations: ["CREATE"],
    resources: ["serviceaccounts/token"],
    scope: "Namespaced",
  },
  {
    apiGroups: ["apps"],
    apiVersions: ["v1"],
    operations: CREATE_UPDATE,
    resources: ["deployments", "statefulsets", "daemonsets", "replicasets"],
    scope: "Namespaced",
  },
  {
    apiGroups: ["batch"],
    apiVersions: ["v1"],
    operations: CREATE_UPDATE,
    resources: ["jobs", "cronjobs"],
    scope: "Namespaced",
  },
  {
    apiGroups: ["nhi.io"],
    apiVersions: ["v1alpha1"],
    operations: CREATE_UPDATE,
    resources: ["nonhumanidentities", "nhipolicies"],
    scope: "*",
  },
];

/**
 * The resources the webhook is registered for, as `resourceLabel` names them ("pods",
 * "serviceaccounts/token", "deployments.apps"): the only values a metric's resource label takes
 * (anything else is "other"), so a forged review cannot grow the metrics without bound.
 */
export const REGISTERED_RESOURCES: ReadonlySet<string> = new Set(
  WEBHOOK_RULES.flatMap((r) =>
    r.apiGroups.flatMap((g) =>
      r.resources.map((res) => {
        const [plural = "", sub] = res.split("/");
        const base = g === "" ? plural : `${plural}.${g}`;
        return sub === undefined ? base : `${base}/${sub}`;
      }),
    ),
  ),
);

/** The metric label of a resource: itself when the webhook is registered for it, else "other". */
export const metricResource = (label: string): string =>
  REGISTERED_RESOURCES.has(label) ? label : "other";

export function webhookConfiguration(o: WebhookConfigOptions): Record<string, unknown> {
  const clientConfig: Record<string, unknown> = o.url
    ? { url: o.url }
    : {
        service: {
          namespace: o.service?.namespace ?? o.ownNamespace,
          name: o.service?.name ?? "nhi-operator-webhook",
          path: "/validate",
          port: o.service?.port ?? 443,
        },
      };
  if (o.caBundlePem) clientConfig.caBundle = Buffer.from(o.caBundlePem).toString("base64");
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: {
      name: WEBHOOK_CONFIGURATION_NAME,
      labels: {
        "app.kubernetes.io/name": "nhi-operator",
        "app.kubernetes.io/component": "webhook",
      },
    },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ["v1"],
        clientConfig,
        rules: WEBHOOK_RULES,
        failurePolicy: o.failurePolicy ?? "Fail",
        matchPolicy: "Equivalent",
        sideEffects: "None",
        timeoutSeconds: o.timeoutSeconds ?? 5,
        namespaceSelector: {
          matchExpressions: [
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: [...new Set(["kube-system", o.ownNamespace])],
            },
          ],
        },
      },
    ],
  };
}

/**
 * Whether a live ValidatingWebhookConfiguration is the one this process registered: its webhook
 * calls our URL with our CA bundle. Another process that re-registered the name (its own URL or
 * certificate) owns it now, and stopping this one must leave it. Undefined: ours; else why not.
 */
export function notOurRegistration(
  live: unknown,
  ours: { url: string; caBundlePem: string },
): string | undefined {
  const webhooks =
    typeof live === "object" && live !== null
      ? (live as { webhooks?: unknown }).webhooks
      : undefined;
  const hook = Array.isArray(webhooks)
    ? (webhooks as { name?: unknown; clientConfig?: { url?: unknown; caBundle?: unknown } }[]).find(
        (w) => w.name === WEBHOOK_NAME,
      )
    : undefined;
  if (!hook) return `it has no webhook ${WEBHOOK_NAME}`;
  const url = hook.clientConfig?.url;
  if (url !== ours.url)
    return `its webhook calls ${typeof url === "string" ? url : "a Service"}, not ${ours.url}`;
  if (hook.clientConfig?.caBundle !== Buffer.from(ours.caBundlePem).toString("base64"))
    return "its caBundle is not this process's CA";
  return undefined;
}
