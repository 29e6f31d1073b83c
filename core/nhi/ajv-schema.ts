// A CRD's OpenAPI schema as ajv compiles it: the formats and keywords Kubernetes adds, and strict
// unknown-field rejection as kubectl's field validation does it.
import AjvModule, { type Format } from "ajv";
import addFormatsModule from "ajv-formats";
import { fullFormats } from "ajv-formats/dist/formats.js";
import { isDuration } from "./duration.js";
import { isRecord } from "../json.js";
import type { KubeSchema } from "./schema.js";

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is the
// module object.
const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

// Formats Kubernetes accepts in CRD schemas. Those ajv-formats lacks are accepted as-is; "duration"
// is Kubernetes' Go-style duration (ajv-formats' is ISO 8601), so it gets our parser.
const KUBE_ONLY_FORMATS = [
  "bsonobjectid",
  "cidr",
  "mac",
  "uuid3",
  "uuid4",
  "uuid5",
  "isbn",
  "isbn10",
  "isbn13",
  "creditcard",
  "ssn",
  "hexcolor",
  "rgbcolor",
  "datetime",
  "int-or-string",
];

const KUBE_KEYWORDS = [
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-embedded-resource",
];

/**
 * The schema as ajv should see it: objects reject unknown fields (kubectl's strict field validation)
 * unless x-kubernetes-preserve-unknown-fields; int-or-string becomes a union type.
 */
export function toAjvSchema(node: KubeSchema): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  if (node["x-kubernetes-int-or-string"] === true) {
    out.type = ["integer", "string"];
    if (out.format === "int-or-string") delete out.format;
  }
  if (node.properties) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties).map(([k, v]) => [k, toAjvSchema(v)]),
    );
    if (
      node.additionalProperties === undefined &&
      node["x-kubernetes-preserve-unknown-fields"] !== true
    ) {
      out.additionalProperties = false;
    }
  }
  if (node.items) out.items = toAjvSchema(node.items);
  if (isRecord(node.additionalProperties))
    out.additionalProperties = toAjvSchema(node.additionalProperties as KubeSchema);
  return out;
}

/** Kubernetes' Go-style duration, for format: duration (ajv-formats' is ISO 8601). */
const DURATION_FORMAT: Format = { type: "string", validate: (s: string) => isDuration(s) };

/**
 * Every format newAjv knows, by name: what the ajv standalone code compiled at build time
 * (crds/standalone.ts) calls, as the `kubeFormats` it is given.
 */
export function kubeFormats(): Record<string, Format> {
  return {
    ...fullFormats,
    ...Object.fromEntries(KUBE_ONLY_FORMATS.map((f) => [f, true])),
    duration: DURATION_FORMAT,
  };
}

export function newAjv(): InstanceType<typeof Ajv> {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    useDefaults: true,
    verbose: true,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  for (const f of KUBE_ONLY_FORMATS) ajv.addFormat(f, true);
  ajv.addFormat("duration", DURATION_FORMAT);
  for (const k of KUBE_KEYWORDS) ajv.addKeyword({ keyword: k });
  return ajv;
}
