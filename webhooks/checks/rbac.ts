// Role, ClusterRole, RoleBinding, ClusterRoleBinding CREATE/UPDATE → core decideRbacWrite.
import {
  decideRbacWrite,
  identityChanges,
  type GoverningIdentity,
} from "../../core/policy/rbac-write.js";
import type {
  ClusterRoleBinding,
  RbacObject,
  RoleBinding,
  ServiceAccountRef,
} from "../../core/rbac/types.js";
import type { AdmissionRequest } from "../admission/review.js";
import { rbacProblem } from "./shape.js";
import { withTransitiveEscalation } from "./transitive.js";
import type { AdmissionCheck } from "./types.js";

const KINDS: Record<string, RbacObject["kind"]> = {
  roles: "Role",
  clusterroles: "ClusterRole",
  rolebindings: "RoleBinding",
  clusterrolebindings: "ClusterRoleBinding",
};

export const rbacCheck: AdmissionCheck = {
  name: "rbac",
  handles: (req: AdmissionRequest) =>
    req.resource.group === "rbac.authorization.k8s.io" &&
    req.resource.resource in KINDS &&
    !req.subResource &&
    (req.operation === "CREATE" || req.operation === "UPDATE"),
  decide(req, ctx) {
    const kind = KINDS[req.resource.resource] ?? "Role";
    const problem = rbacProblem(req.object, kind);
    if (problem) return { bad: `${kind}: ${problem}` };
    const raw = req.object as RbacObject;
    const namespaced = kind === "Role" || kind === "RoleBinding";
    const namespace = namespaced ? (raw.metadata.namespace ?? req.namespace) : undefined;
    if (namespaced && !namespace) return { bad: `${kind}: metadata.namespace is missing` };
    const object = {
      ...raw,
      metadata: { ...raw.metadata, ...(namespace ? { namespace } : {}) },
    } as RbacObject;
    const isBinding = object.kind === "RoleBinding" || object.kind === "ClusterRoleBinding";
    const ref = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind,
      name: object.metadata.name,
      ...(namespace ? { namespace } : {}),
    };
    const changes = identityChanges(ctx.view.index, { upsert: object });
    const governing = (sa: ServiceAccountRef): GoverningIdentity | undefined =>
      ctx.view.directory.governing(sa);
    const decision = decideRbacWrite({
      object: ref,
      ...(isBinding ? { binding: object as RoleBinding | ClusterRoleBinding } : {}),
      changes,
      governing,
      policy: ctx.policy,
      namespaceLabels: (ns) => ctx.view.namespaceLabels(ns),
      roles: {
        exists: (ref) => ctx.view.index.rulesOf(ref) !== undefined,
        searched: "the cluster",
        hint: "when the role is created, this webhook judges what it gives the binding's subjects",
      },
    });
    return withTransitiveEscalation(decision, req, ctx, { object: ref, changes, governing });
  },
};
