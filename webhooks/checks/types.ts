// One admission check per resource family (STYLE.md: webhook as a plugin chain). A check translates
// the AdmissionRequest into the core's input and returns the core's Decision; it holds no policy.
import type { NHIValidator } from "../../core/nhi/validation.js";
import type { EffectivePolicy } from "../../core/policy/settings.js";
import type { Decision } from "../../core/policy/types.js";
import type { ClusterLookups } from "../../core/policy/workload.js";
import type { ClusterView } from "../../operator/k8s/cache/view.js";
import type { AdmissionRequest } from "../admission/review.js";

export interface AdmissionContext {
  view: ClusterView;
  validator: NHIValidator;
  now: Date;
  policy: EffectivePolicy;
}

/** The object could not be read as its kind: a 400 with this message, never a guess. */
export interface BadObject {
  bad: string;
}

export interface AdmissionCheck {
  name: string;
  handles(req: AdmissionRequest): boolean;
  decide(req: AdmissionRequest, ctx: AdmissionContext): Decision | BadObject;
}

export const isBad = (d: Decision | BadObject): d is BadObject => "bad" in d;

/**
 * The view's lookups as a plain object. Never spread the view itself: the cache is a class whose
 * methods and getters (directory) a spread would drop.
 */
export function lookupsOf(view: ClusterView): ClusterLookups {
  let b = bound.get(view);
  if (b === undefined) {
    b = {
      serviceAccount: (ns, name) => view.serviceAccount(ns, name),
      secretType: (ns, name) => view.secretType(ns, name),
      tokenSecretAccount: (ns, name) => view.tokenSecretAccount(ns, name),
      namespaceLabels: (ns) => view.namespaceLabels(ns),
    };
    bound.set(view, b);
  }
  // index and directory are read each time: the cache replaces them as the cluster changes.
  return {
    index: view.index,
    directory: view.directory,
    serviceAccount: b.serviceAccount,
    secretType: b.secretType,
    tokenSecretAccount: b.tokenSecretAccount,
    namespaceLabels: b.namespaceLabels,
  };
}

/** The view's methods bound once per view, not once per review. */
const bound = new WeakMap<
  ClusterView,
  Pick<ClusterLookups, "serviceAccount" | "secretType" | "tokenSecretAccount" | "namespaceLabels">
>();

export const requesterOf = (req: AdmissionRequest): { username: string; groups: string[] } =>
  req.userInfo;
