// NonHumanIdentity and NHIPolicy CREATE/UPDATE → core decideNHIWrite / decideNHIPolicyWrite, with
// the validator the CLI uses.
import type { FieldError } from "../../core/nhi/validation.js";
import { decideNHIPolicyWrite, decideNHIWrite } from "../../core/policy/nhi-write.js";
import type { AdmissionRequest } from "../admission/review.js";
import { storedObjectProblem } from "./shape.js";
import type { AdmissionCheck, AdmissionContext, BadObject } from "./types.js";

const writes = (op: string): boolean => op === "CREATE" || op === "UPDATE";

/** A CREATE/UPDATE of one nhi.io resource itself (not a subresource such as status). */
const handlesWritesOf =
  (resource: string) =>
  (req: AdmissionRequest): boolean =>
    req.resource.group === "nhi.io" &&
    req.resource.resource === resource &&
    !req.subResource &&
    writes(req.operation);

/** An UPDATE's stored object must be well-formed before a check compares against it. */
function storedProblem(
  kind: string,
  req: AdmissionRequest,
  validate: (o: unknown) => FieldError[],
): BadObject | undefined {
  if (req.oldObject === undefined) return undefined;
  const problem = storedObjectProblem(req.oldObject, validate(req.oldObject));
  return problem ? { bad: `${kind}: oldObject: ${problem}` } : undefined;
}

/** What both write decisions take from the request and the context. */
const writeInput = (req: AdmissionRequest, ctx: AdmissionContext) => ({
  object: req.object,
  validator: ctx.validator,
  policy: ctx.policy,
  now: ctx.now,
  requester: req.userInfo,
  ...(req.oldObject !== undefined ? { oldObject: req.oldObject } : {}),
});

export const nhiCheck: AdmissionCheck = {
  name: "nonhumanidentity",
  handles: handlesWritesOf("nonhumanidentities"),
  decide: (req, ctx) =>
    storedProblem("NonHumanIdentity", req, (o) => ctx.validator.validateNonHumanIdentity(o)) ??
    decideNHIWrite({
      ...writeInput(req, ctx),
      ...(req.namespace ? { namespace: req.namespace } : {}),
    }),
};

export const nhiPolicyCheck: AdmissionCheck = {
  name: "nhipolicy",
  handles: handlesWritesOf("nhipolicies"),
  decide: (req, ctx) =>
    storedProblem("NHIPolicy", req, (o) => ctx.validator.validateNHIPolicy(o)) ??
    decideNHIPolicyWrite(writeInput(req, ctx)),
};
