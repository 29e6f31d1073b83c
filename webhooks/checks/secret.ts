// Secret CREATE/UPDATE → core decideSecretWrite. The request carries the Secret's data: only its
// metadata and type are read here, and nothing of it is kept, logged or echoed.
import { decideSecretWrite } from "../../core/policy/token.js";
import type { SecretMetadata } from "../../core/snapshot.js";
import { isRecord } from "../../core/json.js";
import { metadataProblem } from "./shape.js";
import type { AdmissionCheck } from "./types.js";

/** Metadata and type only; everything else (data, stringData) is dropped on the spot. */
export function secretMetadataOf(obj: unknown): SecretMetadata | undefined {
  if (!isRecord(obj) || !isRecord(obj.metadata)) return undefined;
  const m = obj.metadata;
  return {
    kind: "Secret",
    ...(typeof obj.type === "string" ? { type: obj.type } : {}),
    metadata: {
      name:
        typeof m.name === "string"
          ? m.name
          : typeof m.generateName === "string"
            ? `${m.generateName}<generated>`
            : "",
      ...(typeof m.namespace === "string" ? { namespace: m.namespace } : {}),
      ...(isRecord(m.annotations) ? { annotations: m.annotations as Record<string, string> } : {}),
    },
  };
}

export const secretCheck: AdmissionCheck = {
  name: "secret",
  handles: (req) =>
    req.resource.group === "" &&
    req.resource.resource === "secrets" &&
    !req.subResource &&
    (req.operation === "CREATE" || req.operation === "UPDATE"),
  decide(req, ctx) {
    const problem = metadataProblem(req.object);
    if (problem) return { bad: `Secret: ${problem}` };
    const secret = secretMetadataOf(req.object);
    if (!secret) return { bad: "Secret: the object is not a Secret" };
    if (secret.type !== undefined && typeof secret.type !== "string")
      return { bad: "Secret: type must be a string" };
    const namespace = secret.metadata.namespace ?? req.namespace;
    if (!namespace) return { bad: "Secret: metadata.namespace is missing" };
    const stored = req.oldObject === undefined ? undefined : metadataProblem(req.oldObject, false);
    if (stored) return { bad: `Secret: oldObject: ${stored}` };
    const old = secretMetadataOf(req.oldObject);
    return decideSecretWrite({
      secret,
      namespace,
      directory: ctx.view.directory,
      namespaceLabels: (ns) => ctx.view.namespaceLabels(ns),
      tokenSecretAccount: (ns, name) => ctx.view.tokenSecretAccount(ns, name),
      policy: ctx.policy,
      ...(old ? { oldSecret: old } : {}),
    });
  },
};
