// serviceaccounts/token CREATE (TokenRequest) → core decideTokenRequest.
import { decideTokenRequest } from "../../core/policy/token.js";
import { isRecord } from "../../core/json.js";
import { lookupsOf, type AdmissionCheck } from "./types.js";

export const tokenRequestCheck: AdmissionCheck = {
  name: "token-request",
  handles: (req) =>
    req.resource.group === "" &&
    req.resource.resource === "serviceaccounts" &&
    req.subResource === "token" &&
    req.operation === "CREATE",
  decide(req, ctx) {
    if (!req.name || !req.namespace)
      return { bad: "TokenRequest: the request names no ServiceAccount" };
    const obj = req.object;
    if (!isRecord(obj)) return { bad: "TokenRequest: the object is not a JSON object" };
    const spec = obj.spec === undefined ? {} : obj.spec;
    if (!isRecord(spec)) return { bad: "TokenRequest: spec must be an object" };
    const seconds = spec.expirationSeconds;
    if (
      seconds !== undefined &&
      seconds !== null &&
      !(typeof seconds === "number" && Number.isFinite(seconds))
    )
      return { bad: "TokenRequest: spec.expirationSeconds must be a number" };
    const bound = isRecord(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
    return decideTokenRequest({
      ...lookupsOf(ctx.view),
      target: { namespace: req.namespace, name: req.name },
      ...(typeof seconds === "number" ? { expirationSeconds: seconds } : {}),
      ...(bound
        ? {
            boundObject: {
              ...(typeof bound.kind === "string" ? { kind: bound.kind } : {}),
              ...(typeof bound.name === "string" ? { name: bound.name } : {}),
            },
          }
        : {}),
      policy: ctx.policy,
      now: ctx.now,
      requester: req.userInfo,
    });
  },
};
