// parseStream keeps no syntax tree per document: lineOf finds a field's line by parsing that one
// document again from its offsets. The lines must be those of the document as it sits in the stream.
import { expect } from "chai";
import { parseStream } from "../../cli/load.js";

const STREAM = [
  "---", // 1 (as helm template writes it)
  "# Source: chart/templates/a.yaml", // 2
  "apiVersion: v1", // 3
  "kind: ServiceAccount", // 4
  "metadata:", // 5
  "  name: a", // 6
  "---", // 7
  "# Source: chart/templates/b.yaml", // 8
  "apiVersion: rbac.authorization.k8s.io/v1", // 9
  "kind: Role", // 10
  "metadata:", // 11
  "  name: b", // 12
  "  namespace: shop", // 13
  "rules:", // 14
  '  - apiGroups: [""]', // 15
  "    resources: [secrets]", // 16
  "    verbs: [get]", // 17
  "---", // 18
  "apiVersion: v1", // 19
  "kind: List", // 20
  "items:", // 21
  "  - apiVersion: v1", // 22
  "    kind: ServiceAccount", // 23
  "    metadata: { name: c }", // 24
  "  - apiVersion: v1", // 25
  "    kind: ServiceAccount", // 26
  "    metadata:", // 27
  "      name: d", // 28
  "",
].join("\n");

describe("parseStream line numbers", () => {
  const objects = parseStream(STREAM, "s.yaml");

  it("gives every object (and every List item) its own line and Helm origin", () => {
    expect(
      objects.map((o) => [
        o.obj.metadata && (o.obj.metadata as { name: string }).name,
        o.location.line,
        o.location.origin,
      ]),
    ).to.deep.equal([
      ["a", 3, "chart/templates/a.yaml"],
      ["b", 9, "chart/templates/b.yaml"],
      ["c", 22, undefined],
      ["d", 25, undefined],
    ]);
  });

  it("finds fields' lines in any document, in any order of asking", () => {
    const [a, b, c, d] = objects;
    expect(b?.lineOf("rules[0].verbs")).to.equal(17);
    expect(a?.lineOf("metadata.name")).to.equal(6);
    expect(b?.lineOf("rules[0].resources")).to.equal(16);
    expect(d?.lineOf("metadata.name")).to.equal(28);
    expect(c?.lineOf("metadata.name")).to.equal(24);
    expect(b?.lineOf("metadata.namespace")).to.equal(13);
  });

  it("answers a path that does not exist with its deepest existing field", () => {
    expect(objects[1]?.lineOf("rules[0].resourceNames")).to.equal(15);
    expect(objects[1]?.lineOf("rules[3]")).to.equal(14);
  });
});
