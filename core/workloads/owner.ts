// Which objects the control plane makes from a template a person wrote: a ReplicaSet the deployment
// controller creates for a Deployment, the Pods the replicaset controller creates for a ReplicaSet, …
// Such an object is judged by its owner: the owner's writer was judged when the template was written.
import type { OwnerReference } from "../rbac/types.js";
import { WORKLOAD_KINDS } from "./pod-template.js";
import { isRecord } from "../json.js";

/** kube-controller-manager's own identity, when it runs without --use-service-account-credentials. */
export const CONTROLLER_MANAGER_USER = "system:kube-controller-manager";
/** With --use-service-account-credentials, each controller is a ServiceAccount in kube-system. */
const CONTROLLER_SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:kube-system:";

/** The owner a controller-made object was made from, as its controller ownerReference names it. */
export interface ControllerOwner {
  apiVersion: string;
  kind: string;
  name: string;
  /** The controller identity that sent the request. */
  madeBy: string;
}

/**
 * The owner of `object` when `username` is the controller that makes objects of its kind from that
 * owner's kind (WORKLOAD_KINDS[owner].makes), and the object carries exactly one controller
 * ownerReference to that kind. Otherwise undefined: the object is judged as its requester wrote it.
 * Both halves are needed: the ownerReference alone is written by whoever creates the object (a
 * person adding a fake one gains nothing, the requester is still the person), and a controller
 * identity writing something that no template of the owner kind describes is judged in full.
 */
export function controllerOwnerOf(
  object: { kind: string; metadata?: { ownerReferences?: unknown } },
  username: string,
): ControllerOwner | undefined {
  const refs = Array.isArray(object.metadata?.ownerReferences)
    ? (object.metadata.ownerReferences as unknown[]).filter(isRecord)
    : [];
  const controllers = refs.filter((r) => r.controller === true) as OwnerReference[];
  if (controllers.length !== 1) return undefined;
  const [ref] = controllers;
  if (!ref || typeof ref.kind !== "string" || typeof ref.name !== "string" || ref.name === "")
    return undefined;
  const owner = Object.hasOwn(WORKLOAD_KINDS, ref.kind) ? WORKLOAD_KINDS[ref.kind] : undefined;
  if (!owner?.makes || owner.makes.kind !== object.kind || ref.apiVersion !== owner.apiVersion)
    return undefined;
  if (
    username !== CONTROLLER_MANAGER_USER &&
    username !== CONTROLLER_SERVICE_ACCOUNT_PREFIX + owner.makes.controller
  )
    return undefined;
  return { apiVersion: owner.apiVersion, kind: ref.kind, name: ref.name, madeBy: username };
}
