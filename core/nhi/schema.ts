// The CRD's OpenAPI v3 schema as plain data, and how to find it among parsed CRD documents.
// Pure: the caller reads the YAML (crds/load.ts) and passes the parsed documents in.
import { NHI_VERSION } from "./types.js";
import type { NHIKind } from "./types.js";
import { isRecord } from "../json.js";

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?:
    "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  optionalOldSelf?: boolean;
}

/** A structural schema node (the subset of OpenAPI v3 Kubernetes allows, plus its x-kubernetes-* extensions). */
export interface KubeSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, KubeSchema>;
  items?: KubeSchema;
  additionalProperties?: KubeSchema | boolean;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  format?: string;
  default?: unknown;
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  "x-kubernetes-validations"?: CelRule[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
}

/** The openAPIV3Schema of `kind` at version v1alpha1 from parsed CRD documents; throws if absent. */
export function findCrdSchema(crdDocuments: readonly unknown[], kind: NHIKind): KubeSchema {
  for (const doc of crdDocuments) {
    if (!isRecord(doc) || doc.kind !== "CustomResourceDefinition" || !isRecord(doc.spec)) continue;
    const names = doc.spec.names;
    if (!isRecord(names) || names.kind !== kind) continue;
    const versions = Array.isArray(doc.spec.versions) ? doc.spec.versions : [];
    for (const v of versions) {
      if (!isRecord(v) || v.name !== NHI_VERSION || !isRecord(v.schema)) continue;
      const schema = v.schema.openAPIV3Schema;
      if (isRecord(schema)) return schema as KubeSchema;
    }
    throw new Error(`CRD for ${kind} has no version ${NHI_VERSION} with an openAPIV3Schema`);
  }
  throw new Error(
    `no CustomResourceDefinition for kind ${kind} among ${crdDocuments.length} documents`,
  );
}

/** Calls `visit` for every schema node with its property path ("spec.credentials[].ttl"). */
export function walkSchema(
  schema: KubeSchema,
  visit: (node: KubeSchema, path: string) => void,
  path = "",
): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    walkSchema(child, visit, path === "" ? name : `${path}.${name}`);
  }
  if (schema.items) walkSchema(schema.items, visit, `${path}[]`);
  if (isRecord(schema.additionalProperties))
    walkSchema(schema.additionalProperties as KubeSchema, visit, `${path}{}`);
}
