// The e2e harness API. See README.md, "Local control plane / e2e".
export { resolveBinaries, readVersions, REPO_ROOT } from "./binaries.js";
export type { Binaries, Versions } from "./binaries.js";
export { CertAuthority, localServingCert } from "./certs.js";
export { Cluster, ExternalCluster } from "./cluster.js";
export type { ApplyResult, AuditSinkEndpoint, ExecResult, WebhookRegistration } from "./cluster.js";
export { AUDIT_POLICY_FILE, ControlPlane, DEFAULT_CONTROLLERS } from "./controlplane.js";
export type { AuditOptions, ControlPlaneOptions, StartTimings } from "./controlplane.js";
export { KubeClient, KubeError, Token, loadObjects, splitSA, verdictOf } from "./kube.js";
export type { Identity, KubeObject, KubeResponse, Verdict } from "./kube.js";
export { connect, sharedCluster, useNamespace } from "./mocha.js";
export { humanUser } from "./users.js";
export { waitFor } from "./wait.js";
export type { WaitOptions } from "./wait.js";
export { startWebhookServer } from "./webhook-server.js";
export type {
  AdmissionDecision,
  AdmissionHandler,
  AdmissionRequest,
  WebhookServer,
} from "./webhook-server.js";
