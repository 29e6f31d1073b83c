// The fast reader (cli/yaml-fast.ts) must give exactly what `yaml` gives: the same objects, the
// same lines and Helm origins, the same line for every field a finding may ask about, and for bad
// input the same error. Compared on every manifest in the repository and on edge cases around each
// thing the fast reader handles or gives up on.
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  parseStream,
  parseStreamFast,
  parseStreamWithYaml,
  type LoadedObject,
} from "../../cli/load.js";
import { splitDocuments } from "../../cli/yaml-fast.js";
import { syntheticStream } from "../../bench/cli-check.js";
import { rng } from "../../bench/harness.js";

/** Every path to a value in `v`, Kubernetes-style, plus one that does not exist below each. */
function paths(v: unknown, prefix = ""): string[] {
  const out: string[] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => out.push(`${prefix}[${i}]`, ...paths(x, `${prefix}[${i}]`)));
    out.push(`${prefix}[${v.length}]`);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = prefix === "" ? k : `${prefix}.${k}`;
      out.push(p, ...paths(x, p));
    }
    out.push(prefix === "" ? "nope" : `${prefix}.nope`);
  }
  return out;
}

type Outcome = { error: string } | { objects: unknown[] };

function outcome(read: () => LoadedObject[] | undefined): Outcome | undefined {
  try {
    const objects = read();
    return (
      objects && {
        objects: objects.map((o) => ({
          obj: o.obj,
          location: o.location,
          lines: paths(o.obj).map((p) => [p, o.lineOf(p)]),
        })),
      }
    );
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** parseStream (the fast path where it can) and `yaml` alone agree; returns whether the fast reader took it. */
function same(text: string): boolean {
  const expected = outcome(() => parseStreamWithYaml(text, "x.yaml"));
  expect(
    outcome(() => parseStream(text, "x.yaml")),
    text,
  ).to.deep.equal(expected);
  const fast = outcome(() => parseStreamFast(text, "x.yaml"));
  if (fast !== undefined) expect(fast, text).to.deep.equal(expected);
  return fast !== undefined;
}

function manifestFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (["node_modules", "dist", "package-lock.json"].includes(name) || name.startsWith("."))
      continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...manifestFilesUnder(p));
    // Large files (a JSON schema) only add time: every one of their fields is asked for its line.
    else if (/\.(ya?ml|json)$/.test(name) && statSync(p).size < 100_000) out.push(p);
  }
  return out;
}

const EDGE_CASES: string[] = [
  "a: 1",
  "a: 1\n",
  "---\na: 1\n---\nb: 2\n",
  "a: 1\n---\n---\nb: 2",
  "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: A\n",
  "---\n# Source: c/templates/a.yaml\n\n# other\napiVersion: v1\nkind: A\n",
  "---\n# one\n\n# Source: c/t/b.yaml\napiVersion: v1\nkind: A\n",
  "apiVersion: v1\nkind: A\n# Source: c/t/b.yaml\n---\napiVersion: v1\nkind: B\n",
  "---\n# Source: c/t/empty.yaml\n---\napiVersion: v1\nkind: B\n",
  "# Source: c/t/x.yaml\n---\napiVersion: v1\nkind: B\n",
  "# Source: c/t/x.yaml\napiVersion: v1\nkind: B\n",
  "#Source:c/t/x.yaml\napiVersion: v1\nkind: B\n",
  "apiVersion: v1\nkind: B\nmetadata:\n  name: x\n  labels:\n    a: 'it''s'\n    b: \"q\"\n    c: yes\n    d: on\n    e: 0755\n    f: 1_000\n    g: 1:30\n    h: .5\n    i: -1\n    j: ~\n    k: null\n    l: 0x1F\n    m: 1e3\n    n: .inf\n    o: true\n    p: No\n    q: 2024-01-01\n    r: 12345678901234567890\n    s: -.5\n    t: +3\n    u: Y\n",
  "a:\n  - x\n  - y\nb: 2",
  "a:\n- x\n- y\nb: 2",
  "a:\n  - name: x\n    v: 1\n  - name: y\n    w:\n      - 1\n      - 2\n",
  "a:\n  -\n    name: x\n  - y",
  "a:\n  - \n  - y",
  "a: [1, b, 'c', \"d\", {e: f}, [g]]\nb: {}\nc: []\nd: { x: [], y: {} }",
  "a: [1, 2,]",
  "a: [1,, 2]",
  "a: {x: 1, x: 2}",
  "a: 1\na: 2",
  "a: [x\n  , y]",
  "a: {x: 1,\n  y: 2}",
  "a: b: c",
  "a: |\n  text\n  more\nb: 1",
  "a: >-\n  folded\n  text\n",
  "a: &x 1\nb: *x",
  "a: !!str 1",
  "a: plain\n  continued\nb: 1",
  "a: 'multi\n  line'\nb: 1",
  'a: "esc\\n"\nb: 1',
  "a: x # comment\nb: y#not\nc: 'q' # c\nd: [1] # d\n",
  "a: 'q'#c",
  "? complex\n: value",
  "<<: {a: 1}\nb: 2",
  "y: 1",
  "1: x",
  "null: x",
  "'1': x\n\"2\": y",
  "__proto__: x",
  "toString: x\nconstructor: y",
  "a:\n  b:\n    c: 1\n   d: 2",
  "a:\n  b: 1\n c: 2",
  "- a\n- b",
  "just a scalar",
  "[1, 2]",
  "{a: 1}",
  '{"apiVersion": "v1", "kind": "A"}',
  "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: A\n  - apiVersion: v1\n    kind: B\n    metadata: { name: b }",
  "apiVersion: v1\nkind: List\nitems:\n- kind: A\n- 3",
  "apiVersion: v1\nkind: List\nitems:\n- kind: AList\n  items: []",
  "kind: Secret\ndata:\n  a: eHl6\nstringData:\n  b: secret",
  "a: 1\n...\n---\nb: 2",
  "%YAML 1.1\n---\na: 1",
  "--- # c\na: 1",
  "--- {a: 1}",
  "a: 1\r\nb: 2\r\n",
  "a:\t1",
  "a: [x, y]   \nb:    z   \n",
  'a: {b: c d, e: -1, f: "g, h"}',
  "a: {b: c:d}",
  "a: [http://x]",
  "a: x:y\nb: http://z",
  "   a: 1\n   b: 2",
  "a:\n\n  b: 1\n\n\n  c: 2\n",
  "a:\n  # comment\n  b: 1\n  # comment\nc: 2",
  "a: -\n",
  "a: - x\n",
  "a: \"\"\nb: ''",
  'key with spaces: v\n"quoted key" : w',
  "a: 1\n  b: 2",
  "a: [1, 2] x",
  "- - a",
  "a: 'x' 'y'",
  "a: '''",
  `a: ${"k".repeat(1100)}\n${"k".repeat(1100)}: v`,
  "a: # c\n  b: 1\nc: 2",
  "a: { }\nb: [ ]\nc: {  x: 1  }",
  'name: grüße\nemoji: "🙂 ok"\nkey-ü: v\n',
  "a:\n  - b: 1\n    c:\n      - d\n  - e",
  "a:\n  - b: 1\n   c: 2",
  "a: 'x'\n  b: 1",
  "a: [x, [y, {z: [1, 2]}]]",
  "a: *",
  "a: &",
  "a: !",
  "a: %x",
  "a: @x",
  "a: `x`",
  "a: ?x",
  "a: -x\nb: - \n",
  "a: x  \nb: y\t",
  "\n\n\n",
  "# only a comment",
  "---\n---\n",
  "",
];

describe("fast YAML reader", () => {
  it("reads each edge case as yaml does (objects, lines, origins, field lines, errors)", () => {
    let fast = 0;
    for (const text of EDGE_CASES) if (same(text)) fast++;
    // The reader must take the plain cases, not give up on everything.
    expect(fast).to.be.greaterThan(30);
  }).timeout(60_000);

  it("a bad document among good ones is yaml's error, naming the file, line and document", () => {
    const text =
      "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n---\nkind: [x\n---\nkind: D\n";
    expect(same(text)).to.equal(false);
    expect(() => parseStream(text, "bad.yaml")).to.throw(
      /^bad\.yaml:8: invalid YAML in document 3: Flow sequence/,
    );
  });

  it("reads every manifest in the repository as yaml does", () => {
    let files = 0;
    for (const f of manifestFilesUnder(".")) {
      same(readFileSync(f, "utf8"));
      files++;
    }
    expect(files).to.be.greaterThan(20);
  }).timeout(60_000);

  it("reads streams with random edits as yaml does (or leaves them to yaml)", () => {
    const random = rng(14);
    const base = syntheticStream(20);
    const pieces = [
      ":",
      " ",
      "#",
      "-",
      "'",
      '"',
      "{",
      "}",
      "[",
      "]",
      ",",
      "\n",
      "  ",
      "- ",
      ": ",
      "---\n",
      "&",
      "*",
      "1",
      "y",
    ];
    let fast = 0;
    for (let i = 0; i < 150; i++) {
      let text = base;
      for (let k = 0; k < 3; k++) {
        const at = Math.floor(random() * text.length);
        const piece = pieces[Math.floor(random() * pieces.length)] ?? "";
        text =
          random() < 0.7
            ? text.slice(0, at) + piece + text.slice(at)
            : text.slice(0, at) + text.slice(at + 1);
      }
      if (same(text)) fast++;
    }
    expect(fast).to.be.greaterThan(30);
  }).timeout(120_000);

  it("reads the benchmark's stream with the fast reader, as yaml does", () => {
    const text = syntheticStream(300);
    expect(same(text)).to.equal(true);
    expect(splitDocuments(text)).to.have.length(300);
  });
});
