// Keeps the three descriptions of the API in step: the CRD YAML (the contract), the TypeScript types
// (through fully populated fixtures the compiler checks against them) and the validator's tables.
import { expect } from "chai";
import { loadCrdDocuments } from "../../../crds/load.js";
import { CEL_MIRRORS } from "../../../core/nhi/cel.js";
import { PATTERN_MEANINGS } from "../../../core/nhi/patterns.js";
import { isRecord } from "../../../core/json.js";
import { findCrdSchema, walkSchema } from "../../../core/nhi/schema.js";
import type { KubeSchema } from "../../../core/nhi/schema.js";
import {
  ANOMALY_ACTIONS,
  CLAIM_MODES,
  CREDENTIAL_TYPES,
  ENFORCEMENT_MODES,
  EXPIRY_ACTIONS,
  LEGACY_TOKEN_MODES,
  NHI_PHASES,
  RISK_LEVELS,
  SECRET_ENCODINGS,
} from "../../../core/nhi/types.js";
import type { NHIKind } from "../../../core/nhi/types.js";
import { createValidator } from "../../../core/nhi/validate.js";
import { NHI_SHAPE, POLICY_SHAPE } from "./fixtures.js";

const docs = loadCrdDocuments();
const schemas: Record<NHIKind, KubeSchema> = {
  NonHumanIdentity: findCrdSchema(docs, "NonHumanIdentity"),
  NHIPolicy: findCrdSchema(docs, "NHIPolicy"),
};

/** Property paths of the schema ("spec.credentials[].ttl", "…matchLabels{}"), root excluded. */
function schemaPaths(schema: KubeSchema): string[] {
  const paths: string[] = [];
  walkSchema(schema, (_node, path) => {
    if (path !== "") paths.push(path);
  });
  return paths.sort();
}

function nodeAt(schema: KubeSchema, path: string): KubeSchema | undefined {
  let found: KubeSchema | undefined;
  walkSchema(schema, (node, p) => {
    if (p === path) found = node;
  });
  return found;
}

/** Key paths of a sample object in the same notation; map keys become {} where the schema says map. */
function valuePaths(schema: KubeSchema, value: unknown, path = "", out: string[] = []): string[] {
  if (path !== "") out.push(path);
  if (path === "metadata") return out; // ObjectMeta: the API server's, not described by the CRD
  const node = nodeAt(schema, path);
  if (Array.isArray(value)) {
    for (const item of value) valuePaths(schema, item, `${path}[]`, out);
  } else if (isRecord(value)) {
    const isMap = node !== undefined && isRecord(node.additionalProperties);
    for (const [k, v] of Object.entries(value)) {
      valuePaths(schema, v, isMap ? `${path}{}` : path === "" ? k : `${path}.${k}`, out);
    }
  }
  return [...new Set(out)].sort();
}

function schemaNodes(schema: KubeSchema): Array<[string, KubeSchema]> {
  const nodes: Array<[string, KubeSchema]> = [];
  walkSchema(schema, (node, path) => nodes.push([path, node]));
  return nodes;
}

const crd = (kind: NHIKind): Record<string, unknown> => {
  const d = docs.find(
    (x) => isRecord(x) && isRecord(x.spec) && isRecord(x.spec.names) && x.spec.names.kind === kind,
  );
  if (!isRecord(d)) throw new Error(`no CRD for ${kind}`);
  return d;
};

describe("nhi/types vs the CRD schema", () => {
  const shapes: Array<[NHIKind, unknown]> = [
    ["NonHumanIdentity", NHI_SHAPE],
    ["NHIPolicy", POLICY_SHAPE],
  ];

  for (const [kind, shape] of shapes) {
    describe(kind, () => {
      const schema = schemas[kind];

      it("the fully populated typed sample has exactly the schema's property paths", () => {
        const fromSchema = schemaPaths(schema);
        const fromTypes = valuePaths(schema, shape);
        const missingInTypes = fromSchema.filter((p) => !fromTypes.includes(p));
        const missingInSchema = fromTypes.filter((p) => !fromSchema.includes(p));
        expect(
          missingInTypes,
          "in the CRD but not in the TypeScript types (add to core/nhi/types.ts and the SHAPE fixture)",
        ).to.deep.equal([]);
        expect(missingInSchema, "in the TypeScript types but not in the CRD").to.deep.equal([]);
      });

      it("the typed sample's values have the schema's types", () => {
        const validator = createValidator(docs);
        const errors = validator
          .validate(shape)
          .filter((e) =>
            ["TypeInvalid", "UnknownField", "Unsupported", "TooLong", "TooMany"].includes(e.reason),
          );
        expect(errors).to.deep.equal([]);
      });

      it("every field has a description (kubectl explain)", () => {
        const bare = schemaNodes(schema)
          .filter(([p, n]) => p !== "metadata" && !/(\[\]|\{\})$/.test(p) && !n.description)
          .map(([p]) => p || "(root)");
        expect(bare).to.deep.equal([]);
      });

      it("every list, string and map is bounded (the API server's CEL cost estimate needs it)", () => {
        const unbounded = schemaNodes(schema)
          .filter(([p]) => p !== "apiVersion" && p !== "kind")
          .filter(
            ([, n]) =>
              (n.type === "array" && n.maxItems === undefined) ||
              (n.type === "string" &&
                n.maxLength === undefined &&
                n.enum === undefined &&
                n.format !== "date-time") ||
              (n.type === "object" &&
                isRecord(n.additionalProperties) &&
                n.maxProperties === undefined),
          )
          .map(([p]) => p);
        expect(unbounded).to.deep.equal([]);
      });

      it("every pattern compiles and has a meaning in words", () => {
        for (const [path, n] of schemaNodes(schema)) {
          if (n.pattern === undefined) continue;
          expect(() => new RegExp(n.pattern as string, "u"), path).to.not.throw();
          expect(
            PATTERN_MEANINGS[n.pattern],
            `core/nhi/patterns.ts has no meaning for the pattern at ${path}: ${n.pattern}`,
          ).to.be.a("string");
        }
      });

      it("every CEL rule has a mirror, a message, and names only fields of its node", () => {
        for (const [path, n] of schemaNodes(schema)) {
          for (const r of n["x-kubernetes-validations"] ?? []) {
            expect(CEL_MIRRORS[r.rule], `${path}: ${r.rule}`).to.not.equal(undefined);
            expect(r.message, `${path}: ${r.rule}`).to.be.a("string").and.not.equal("");
            for (const [, field] of r.rule.matchAll(/\bself\.([A-Za-z]\w*)/g)) {
              const known = Object.keys(n.properties ?? {});
              // self.all/exists/exists_one are macros on lists, not fields.
              if (n.type === "array" && ["all", "exists", "exists_one"].includes(field ?? ""))
                continue;
              expect(known, `${path}: rule names self.${field}`).to.include(field);
            }
            if (r.fieldPath !== undefined) {
              expect(
                Object.keys(n.properties ?? {}),
                `${path}: fieldPath ${r.fieldPath}`,
              ).to.include(r.fieldPath.replace(/^\./, ""));
            }
          }
        }
      });

      it("list-map keys are required fields of the items", () => {
        for (const [path, n] of schemaNodes(schema)) {
          for (const k of n["x-kubernetes-list-map-keys"] ?? []) {
            expect(n.items?.required ?? [], `${path}: map key ${k}`).to.include(k);
          }
        }
      });

      it("printer columns point at schema fields", () => {
        const versions = (
          crd(kind).spec as {
            versions: Array<{ additionalPrinterColumns?: Array<{ jsonPath: string }> }>;
          }
        ).versions;
        const paths = schemaPaths(schema);
        for (const col of versions[0]?.additionalPrinterColumns ?? []) {
          if (col.jsonPath.startsWith(".metadata.")) continue;
          expect(paths, col.jsonPath).to.include(col.jsonPath.slice(1));
        }
      });
    });
  }

  it("every CEL mirror is used by a CRD rule (no stale mirrors)", () => {
    const used = new Set(
      Object.values(schemas).flatMap((s) =>
        schemaNodes(s).flatMap(([, n]) => (n["x-kubernetes-validations"] ?? []).map((r) => r.rule)),
      ),
    );
    expect(Object.keys(CEL_MIRRORS).filter((r) => !used.has(r))).to.deep.equal([]);
  });

  it("every pattern meaning is used by a CRD pattern (no stale meanings)", () => {
    const used = new Set(
      Object.values(schemas).flatMap((s) => schemaNodes(s).map(([, n]) => n.pattern)),
    );
    expect(Object.keys(PATTERN_MEANINGS).filter((p) => !used.has(p))).to.deep.equal([]);
  });

  const enums: Array<[string, NHIKind, string, readonly string[]]> = [
    ["CREDENTIAL_TYPES", "NonHumanIdentity", "spec.credentials[].type", CREDENTIAL_TYPES],
    ["SECRET_ENCODINGS", "NonHumanIdentity", "spec.credentials[].encoding", SECRET_ENCODINGS],
    ["LEGACY_TOKEN_MODES", "NonHumanIdentity", "spec.legacyTokens", LEGACY_TOKEN_MODES],
    ["EXPIRY_ACTIONS", "NonHumanIdentity", "spec.lifetime.onExpiry", EXPIRY_ACTIONS],
    ["ENFORCEMENT_MODES", "NonHumanIdentity", "spec.enforcement", ENFORCEMENT_MODES],
    ["NHI_PHASES", "NonHumanIdentity", "status.phase", NHI_PHASES],
    ...(["low", "medium", "high", "critical"] as const).map(
      (s): [string, NHIKind, string, readonly string[]] => [
        `ANOMALY_ACTIONS (${s})`,
        "NonHumanIdentity",
        `spec.onAnomaly.${s}`,
        ANOMALY_ACTIONS,
      ],
    ),
    [
      "ANOMALY_ACTIONS (response)",
      "NonHumanIdentity",
      "status.anomalies[].response.action",
      ANOMALY_ACTIONS,
    ],
    ["RISK_LEVELS (anomalies)", "NonHumanIdentity", "status.anomalies[].severity", RISK_LEVELS],
    ["RISK_LEVELS", "NonHumanIdentity", "status.risk.level", RISK_LEVELS],
    ["CLAIM_MODES", "NHIPolicy", "spec.requireClaim", CLAIM_MODES],
    ["CLAIM_MODES (overrides)", "NHIPolicy", "spec.overrides[].requireClaim", CLAIM_MODES],
    [
      "ENFORCEMENT_MODES (unclaimed)",
      "NHIPolicy",
      "spec.unclaimedHighPermissions",
      ENFORCEMENT_MODES,
    ],
    [
      "ENFORCEMENT_MODES (overrides)",
      "NHIPolicy",
      "spec.overrides[].unclaimedHighPermissions",
      ENFORCEMENT_MODES,
    ],
  ];
  for (const [name, kind, path, values] of enums) {
    it(`${name} equals the enum at ${kind} ${path}`, () => {
      expect(nodeAt(schemas[kind], path)?.enum).to.deep.equal([...values]);
    });
  }

  describe("CRD metadata", () => {
    it("NonHumanIdentity: namespaced, short name nhi, status subresource", () => {
      const spec = crd("NonHumanIdentity").spec as Record<string, unknown>;
      expect(spec.group).to.equal("nhi.io");
      expect(spec.scope).to.equal("Namespaced");
      expect((spec.names as { shortNames: string[] }).shortNames).to.deep.equal(["nhi"]);
      expect((spec.names as { categories: string[] }).categories).to.include("nhi-operator");
      const v = (spec.versions as Array<Record<string, unknown>>)[0];
      expect(v?.name).to.equal("v1alpha1");
      expect(v?.subresources).to.deep.equal({ status: {} });
      expect(
        (v?.additionalPrinterColumns as Array<{ name: string }>).map((c) => c.name),
      ).to.include.members(["Owner", "Phase", "Risk", "Next Rotation", "Age"]);
    });

    it("NHIPolicy: cluster-scoped, short name nhipol, status subresource", () => {
      const spec = crd("NHIPolicy").spec as Record<string, unknown>;
      expect(spec.scope).to.equal("Cluster");
      expect((spec.names as { shortNames: string[] }).shortNames).to.deep.equal(["nhipol"]);
      expect((spec.versions as Array<Record<string, unknown>>)[0]?.subresources).to.deep.equal({
        status: {},
      });
    });

    it("required fields of NonHumanIdentity", () => {
      const s = schemas.NonHumanIdentity;
      expect(nodeAt(s, "spec")?.required).to.have.members([
        "owner",
        "purpose",
        "serviceAccountName",
      ]);
      expect(nodeAt(s, "spec.owner")?.required).to.have.members(["team", "contact"]);
    });
  });
});
