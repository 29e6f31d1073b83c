// serviceaccounts/token CREATE (TokenRequest) → core decideTokenRequest.
import { decideTokenRequest, type TokenRequestInput } from "../../core/policy/token.js";
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
    // Every field named, nothing spread (see checks/workload.ts): the kubelet asks for a token at
    // every pod start and refresh.
    const lookups = lookupsOf(ctx.view);
    const input: TokenRequestInput = {
      index: lookups.index,
      directory: lookups.directory,
      serviceAccount: lookups.serviceAccount,
      secretType: lookups.secretType,
      tokenSecretAccount: lookups.tokenSecretAccount,
      namespaceLabels: lookups.namespaceLabels,
      target: { namespace: req.namespace, name: req.name },
      policy: ctx.policy,
      now: ctx.now,
      requester: req.userInfo,
    };
    if (typeof seconds === "number") input.expirationSeconds = seconds;
    if (bound) {
      const boundObject: { kind?: string; name?: string } = {};
      if (typeof bound.kind === "string") boundObject.kind = bound.kind;
      if (typeof bound.name === "string") boundObject.name = bound.name;
      input.boundObject = boundObject;
    }
    return decideTokenRequest(input);
  },
};
