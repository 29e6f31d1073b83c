// NonHumanIdentity and NHIPolicy CREATE/UPDATE → core decideNHIWrite / decideNHIPolicyWrite, with
// the validator the CLI uses.
import { decideNHIPolicyWrite, decideNHIWrite } from "../../core/policy/nhi-write.js";
import { storedObjectProblem } from "./shape.js";
import type { AdmissionCheck } from "./types.js";

const writes = (op: string): boolean => op === "CREATE" || op === "UPDATE";

export const nhiCheck: AdmissionCheck = {
  name: "nonhumanidentity",
  handles: (req) =>
    req.resource.group === "nhi.io" &&
    req.resource.resource === "nonhumanidentities" &&
    !req.subResource &&
    writes(req.operation),
  decide: (req, ctx) => {
    const stored =
      req.oldObject === undefined
        ? undefined
        : storedObjectProblem(req.oldObject, ctx.validator.validateNonHumanIdentity(req.oldObject));
    if (stored) return { bad: `NonHumanIdentity: oldObject: ${stored}` };
    return decideNHIWrite({
      object: req.object,
      validator: ctx.validator,
      policy: ctx.policy,
      now: ctx.now,
      requester: req.userInfo,
      ...(req.oldObject !== undefined ? { oldObject: req.oldObject } : {}),
      ...(req.namespace ? { namespace: req.namespace } : {}),
    });
  },
};

export const nhiPolicyCheck: AdmissionCheck = {
  name: "nhipolicy",
  handles: (req) =>
    req.resource.group === "nhi.io" &&
    req.resource.resource === "nhipolicies" &&
    !req.subResource &&
    writes(req.operation),
  decide: (req, ctx) => {
    const stored =
      req.oldObject === undefined
        ? undefined
        : storedObjectProblem(req.oldObject, ctx.validator.validateNHIPolicy(req.oldObject));
    if (stored) return { bad: `NHIPolicy: oldObject: ${stored}` };
    return decideNHIPolicyWrite({
      object: req.object,
      validator: ctx.validator,
      policy: ctx.policy,
      now: ctx.now,
      requester: req.userInfo,
      ...(req.oldObject !== undefined ? { oldObject: req.oldObject } : {}),
    });
  },
};
