#!/usr/bin/env node
// nhictl: the webhook's decisions on manifests, for GitOps pull requests. This file is the only one
// that touches argv, stdin, stdout and the exit code; everything it prints comes from the core.
import "./heap.js"; // first: a batch process's heap settings, before the other modules load
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadBuiltCrdDocuments } from "../crds/load.js";
import { builtValidator } from "../crds/standalone.js";
import { ADMISSION_RULE_IDS } from "../core/policy/nhi-write.js";
import { createValidator } from "../core/nhi/validate.js";
import { isRecord } from "../core/json.js";
import { formatFieldError, type NHIValidator, type Parsed } from "../core/nhi/validation.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";
import { runCheck } from "./check.js";
import { FORMATS, TOOL, formatReport, type Format } from "./format.js";
import { adoptionPolicy } from "../core/policy/adoption.js";
import { InputError, loadSources, parseStream, type LoadedObject } from "./load.js";
import {
  DEFAULT_MAX_BYTES,
  ReadProblem,
  decodeUtf8,
  formatBytes,
  parseByteSize,
  readBounded,
  readManifestFile,
} from "./read.js";
import { buildManifestSet, definedBy, type ManifestSet } from "./snapshot.js";
import { explain, formatExplainText, parseExplainTarget } from "./explain.js";
import {
  GRAPH_FORMATS,
  buildGraphReport,
  formatGraph,
  parseNodeArg,
  type GraphFormat,
} from "./graph.js";
import {
  formatInventoryTable,
  inventoryFromEndpoint,
  inventoryFromSnapshot,
  type InventoryResult,
} from "./inventory.js";
import { emptySnapshot, overlaySnapshot, type ClusterSnapshot } from "../core/snapshot.js";
import { Readable } from "node:stream";
import {
  AuditDetector,
  Baseline,
  DEFAULT_BASELINE_OPTIONS,
  DEFAULT_DETECTOR_OPTIONS,
  SEVERITIES,
  UsageRecorder,
  rightsizeSnapshot,
  atLeast,
  declarationIndex,
  podIPIndex,
} from "../core/audit/index.js";
import type { Severity } from "../core/policy/types.js";
import {
  analyzeFile,
  formatAuditJson,
  formatAuditText,
  formatRightsizeJson,
  formatRightsizeText,
  loadBaselineFile,
  saveBaselineFile,
  type AnalyzeSummary,
} from "./audit.js";

/** Exit codes: 0 clean, 1 violations, 2 unreadable, refused or no input, or bad arguments. */
export const EXIT = { ok: 0, violations: 1, usage: 2 } as const;

export class UsageError extends Error {}

export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
  /** stdin as strict UTF-8, refused (InputError) above maxBytes. */
  readStdin(maxBytes: number): string;
  /** stdin as a stream (nhictl audit analyze reads it line by line); readStdin() when absent. */
  stdinStream?(): Readable;
  isTTY: boolean;
  env: Record<string, string | undefined>;
  now(): Date;
}

const HELP: Record<string, string> = {
  main: `nhictl — govern non-human identities in Kubernetes manifests

Usage:
  nhictl check PATH... [-f -] [--policy FILE] [--strict] [--format text|json|sarif|github] [--cluster]
  nhictl explain NAMESPACE/SERVICEACCOUNT|GROUP PATH... [-f -] [--cluster] [--format text|json]
  nhictl inventory [PATH...] [--endpoint URL | --cluster] [--format table|json]
  nhictl graph [PATH...] [-f -] [--cluster] [--from NAMESPACE/NAME] [--to cluster-admin] [--format text|json|dot|mermaid|html]
  nhictl audit analyze FILE... [--manifests PATH] [--cluster] [--format text|json] [--fail-on SEVERITY] [--baseline FILE]
  nhictl audit rightsize FILE... [--manifests PATH] [--cluster] [--format text|json]
  nhictl COMMAND --help

Commands:
  check       judge manifests with the admission webhook's decisions (exit 0 pass, 1 violations, 2 bad input)
  explain     a ServiceAccount's (or ServiceAccount group's) effective permissions, who grants each, catalogue hits, and its NHI's scopes
  inventory   every ServiceAccount, claimed by an NHI or shadow, with its risky permissions
  graph       the identity graph: who can become whom, each identity's blast radius and attack paths
  audit       identities acting out of character in the API server's audit log (exit 0 clean, 1 findings, 2 bad input)

Options:
  -h, --help      show help
  -v, --version   print the version
`,
  check: `nhictl check — judge manifests with the decisions the admission webhook makes

Usage:
  nhictl check PATH... [options]
  helm template my-release ./chart | nhictl check -f -
  kustomize build overlays/prod | nhictl check -f -

PATH is a file or a folder (read recursively: *.yaml, *.yml, *.json). Multi-document streams,
kind: List and JSON are read. Every object is judged together with all the others: RBAC grants
against NonHumanIdentity scopes and the escalation catalogue (direct, through groups and ClusterRole
aggregation, with Kubernetes' built-in ClusterRoles known), NonHumanIdentity and NHIPolicy
validation, workloads running as a governed identity outside its declaration, pods mounting token
Secrets, long-lived token Secrets, critical permissions declared in an NHI. NHIPolicies found in the
manifests apply as well as those given with --policy. Secret values are never read into the report.

Options:
  -f, --filename PATH   a file, folder, or - for stdin (repeatable; same as a positional PATH)
      --policy FILE     NHIPolicy to apply (repeatable); default: the built-in CLI defaults —
                        critical permissions forbidden, high ones need a declaring NHI, long-lived
                        token Secrets forbidden, unclaimed ServiceAccounts reported as warnings
      --strict          unclaimed ServiceAccounts are violations (requireClaim: Enforce)
      --suggest-exemptions
                        for manifests you adopt but do not maintain (a third-party chart): also
                        print an NHIPolicy whose exemptions accept exactly the violations found
                        (each ServiceAccount, only its rules, expiring in 90 days), to review and
                        apply; in text output it is the last part, from a line "---"; in json
                        the field suggestedPolicy
      --format FORMAT   text (default), json, sarif (GitHub code scanning), github (annotations)
  -n, --namespace NS    namespace of objects that name none (default: default)
      --allow-empty     pass when the paths hold no objects (default: exit 2, nothing was judged)
      --max-bytes SIZE  refuse a file (or stdin) larger than SIZE: bytes, or 500k, 64Mi, 1G
                        (default ${formatBytes(DEFAULT_MAX_BYTES)})
      --cluster         merge the live cluster's state (current kubeconfig): the manifests replace
                        the objects they define, the rest is judged as it really is
      --context NAME    kubeconfig context for --cluster
      --kubeconfig FILE kubeconfig for --cluster (default: $KUBECONFIG, then ~/.kube/config)
      --no-color        no colours in text output (also NO_COLOR=1; colours only on a terminal)
  -h, --help            show this help

Folders are read recursively, following symbolic links (each file once; a link loop ends).
Input must be UTF-8: other bytes are refused naming the file and byte offset.

Exit codes: 0 no violations, 1 violations, 2 input unreadable, not UTF-8, larger than --max-bytes,
or holding no objects (without --allow-empty), or bad arguments.
`,
  explain: `nhictl explain — what a ServiceAccount may do, and why

Usage:
  nhictl explain NAMESPACE/SERVICEACCOUNT PATH... [options]
  nhictl explain GROUP PATH... [options]

Prints the ServiceAccount's effective permissions in the given manifests (and the cluster, with
--cluster), which binding and role grant each, which escalation-catalogue entries they reach, and
the scopes of the NonHumanIdentity that claims it, side by side (which scope covers each
permission, which permissions no scope covers, which scopes are unused).

GROUP is system:serviceaccounts:NS, system:serviceaccounts, system:authenticated or
system:unauthenticated (system:anonymous, the user of every anonymous request, is explained as
system:unauthenticated): what every member holds through the group (and the groups that contain
it), whoever the members are.

Options:
  -f, --filename PATH   a file, folder, or - for stdin (repeatable)
  -n, --namespace NS    namespace of objects that name none (default: default)
      --cluster         merge the live cluster's state (current kubeconfig)
      --context NAME    kubeconfig context for --cluster
      --kubeconfig FILE kubeconfig for --cluster (default: $KUBECONFIG, then ~/.kube/config)
      --format FORMAT   text (default) or json
      --no-color        no colours
  -h, --help            show this help
`,
  inventory: `nhictl inventory — every ServiceAccount, claimed or shadow

Usage:
  nhictl inventory --endpoint URL [--format table|json]
  nhictl inventory [--cluster] [--context NAME] [--format table|json]
  nhictl inventory PATH... [-f -] [--format table|json]

With --endpoint, prints the inventory the operator serves (GET URL: its /inventory document).
Otherwise computes the same document with the operator's own inventory model, from the live
cluster (the default when no PATH is given), from manifests, or from manifests over the cluster
(PATH... --cluster): each ServiceAccount with its NonHumanIdentity (or shadow), its phase (Active,
Unused, Orphaned, Expiring, Expired, Suspended, Violating), risk, workloads, legacy tokens,
permissions beyond its scopes and the escalation-catalogue entries it reaches. Offline, credential
health is judged from Secret metadata only (certificates and External expiries are read by the
operator, which may read Secret data; nhictl never does).

Options:
      --endpoint URL    the operator's inventory endpoint
      --cluster         compute from the live cluster (current kubeconfig)
      --context NAME    kubeconfig context
      --kubeconfig FILE kubeconfig (default: $KUBECONFIG, then ~/.kube/config)
  -f, --filename PATH   a file, folder, or - for stdin (repeatable)
  -n, --namespace NS    namespace of objects that name none (default: default)
      --format FORMAT   table (default) or json
  -h, --help            show this help
`,
  audit: `nhictl audit analyze — identities acting out of character, from the API server's audit log

Usage:
  nhictl audit analyze FILE... [options]
  zcat audit.log.1.gz | nhictl audit analyze - --cluster --baseline baseline.json
  nhictl audit rightsize FILE... [--manifests PATH] [--cluster] [--format text|json]

FILE is a log written by kube-apiserver's log backend (--audit-log-path, --audit-log-format=json:
one audit.k8s.io/v1 Event a line), plain or gzip, or - for stdin. It is read line by line (memory
does not grow with the file). Every ServiceAccount's requests are judged against the scopes and
credentials its NonHumanIdentity declares (from --manifests and/or --cluster) and against what a
workload does not do: a person's tool with its token, its pod's token from elsewhere, bursts of
403s, Secret harvesting, RBAC and webhook writes, workloads run as another ServiceAccount. Use the
audit policy the operator ships (manifests/audit/policy.yaml). Activity within the declared scopes,
from the identity's own pods with its usual client, gives no finding.

new-behaviour: each identity's habits (sources: its own pod, else the client's /24 or /64 network;
clients: the User-Agent's program; for an identity no NHI claims, its requests) are learned over its
first --learning-window seconds of activity (by the events' own times); after that a new habit is a
finding, once. --baseline FILE reads what earlier runs learned and writes it back at the end (a
missing or damaged file starts a fresh baseline, with a warning for a damaged one).

rightsize: for every ServiceAccount in the log, what RBAC grants it (from --manifests/--cluster)
against what it used; prints its NHI's scopes, the scopes and the Role/ClusterRole (YAML) that
would suffice, and each granted permission never used in the log (the window), with its binding.

Options:
      --manifests PATH  NonHumanIdentities (and Pods) from manifests: file, folder or - (repeatable)
      --cluster         read NonHumanIdentities and pods (their IPs) from the live cluster
      --context NAME    kubeconfig context for --cluster
      --kubeconfig FILE kubeconfig for --cluster (default: $KUBECONFIG, then ~/.kube/config)
      --format FORMAT   text (default) or json (a top-level findings array)
      --fail-on SEV     exit 1 when a finding is at least SEV: low, medium (default), high, critical
      --trusted-minter USER
                        an identity whose TokenRequests are expected (the operator's ServiceAccount);
                        nodes are always trusted (repeatable)
      --enumeration-threshold N   denied requests that make a burst (default 5)
      --enumeration-window S      seconds a burst spans (default 60)
      --secret-reads N            different Secrets read that make a series (default 3)
      --secret-reads-window S     seconds a series spans (default 300)
      --baseline FILE             the learned baseline: read at the start, written at the end
      --learning-window S         seconds an identity's habits are learned (default 86400)
      --baseline-max-habits N     values kept per habit kind and identity (default 64)
  -n, --namespace NS    namespace of manifest objects that name none (default: default)
      --no-color        no colours
  -h, --help            show this help

Exit codes: 0 no finding at or above --fail-on, 1 such findings, 2 unreadable input (naming the
file and line) or bad arguments.
`,
};

const GRAPH_HELP = `nhictl graph — who can become whom: attack paths and blast radius

Usage:
  nhictl graph PATH... [options]
  nhictl graph --cluster [PATH...] [options]
  helm template shop ./chart | nhictl graph -f - --to cluster-admin

An identity that may create pods in a namespace can run as any ServiceAccount there; one that reads
its Secrets takes every legacy token; bind, escalate, impersonate, exec, token requests, nodes/proxy,
CSR approval and admission-webhook writes all become someone else. For each identity holding such a
permission (or only --from), prints its blast radius (identities, credential Secrets and workloads
it reaches, and whether and in how many hops it reaches cluster-admin) and the shortest path to each,
one line per hop: identity —permission→ identity.

Options:
  -f, --filename PATH   a file, folder, or - for stdin (repeatable)
  -n, --namespace NS    namespace of objects that name none (default: default)
      --cluster         merge the live cluster's state (current kubeconfig); without PATH, the cluster alone
      --context NAME    kubeconfig context for --cluster
      --kubeconfig FILE kubeconfig for --cluster (default: $KUBECONFIG, then ~/.kube/config)
      --from ID         only paths from this identity: NAMESPACE/NAME, system:serviceaccount:NS:NAME or a
                        ServiceAccount group (system:serviceaccounts:NS, …)
      --to ID           only paths to this identity, or to cluster-admin
      --format FORMAT   text (default), json, dot (Graphviz), mermaid, html (one self-contained page:
                        click an identity to see its paths; it fetches nothing)
  -h, --help            show this help
`;

const COMMON: ParseArgsConfig["options"] = {
  help: { type: "boolean", short: "h" },
  filename: { type: "string", short: "f", multiple: true },
  namespace: { type: "string", short: "n" },
  cluster: { type: "boolean" },
  context: { type: "string" },
  kubeconfig: { type: "string" },
  format: { type: "string" },
  "no-color": { type: "boolean" },
  "max-bytes": { type: "string" },
};

const OPTIONS: Record<string, ParseArgsConfig["options"]> = {
  check: {
    ...COMMON,
    policy: { type: "string", multiple: true },
    strict: { type: "boolean" },
    "suggest-exemptions": { type: "boolean" },
    "allow-empty": { type: "boolean" },
  },
  explain: { ...COMMON },
  inventory: { ...COMMON, endpoint: { type: "string" } },
  graph: { ...COMMON, from: { type: "string" }, to: { type: "string" } },
  audit: {
    ...COMMON,
    manifests: { type: "string", multiple: true },
    "fail-on": { type: "string" },
    "trusted-minter": { type: "string", multiple: true },
    "enumeration-threshold": { type: "string" },
    "enumeration-window": { type: "string" },
    "secret-reads": { type: "string" },
    "secret-reads-window": { type: "string" },
    baseline: { type: "string" },
    "learning-window": { type: "string" },
    "baseline-max-habits": { type: "string" },
  },
};

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

function parse(command: string, args: string[]): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: OPTIONS[command],
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (e) {
    throw new UsageError(
      `${e instanceof Error ? e.message : String(e)}\nRun 'nhictl ${command} --help' for usage.`,
    );
  }
}

const str = (v: Values[string]): string | undefined => (typeof v === "string" ? v : undefined);
/** The objects read, as the manifest set every command judges (--namespace for objects without one). */
function manifestSetOf(objects: LoadedObject[], values: Values, now: Date): ManifestSet {
  const ns = str(values.namespace);
  return buildManifestSet(objects, {
    validator: validator(),
    now,
    knownRuleIds: KNOWN_RULE_IDS,
    ...(ns ? { namespace: ns } : {}),
  });
}

/** The --format value, one of `allowed` (the first is the default); any other is a usage error. */
function formatOf<F extends string>(values: Values, allowed: readonly F[]): F {
  const format = str(values.format) ?? allowed[0];
  if (!allowed.includes(format as F))
    throw new UsageError(`unknown --format ${format}; use one of ${allowed.join(", ")}`);
  return format as F;
}
const strs = (v: Values[string]): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

let validatorCache: NHIValidator | undefined;
function validator(): NHIValidator {
  validatorCache ??= rememberingNhiParses(
    createValidator(loadBuiltCrdDocuments(), { lazy: true, precompiled: builtValidator }),
  );
  return validatorCache;
}

/**
 * A validator that parses each NonHumanIdentity object once per run: the manifest set parses it
 * (buildManifestSet) and check judges it (decideNHIWrite) with the same object and time. Only
 * parses without an old object are remembered, keyed by the object and the time; knownRuleIds
 * concerns NHIPolicies only.
 */
function rememberingNhiParses(v: NHIValidator): NHIValidator {
  const parsed = new WeakMap<
    object,
    { at: number | undefined; result: Parsed<NonHumanIdentity> }
  >();
  return {
    ...v,
    parseNonHumanIdentity: (obj, options = {}) => {
      if (options.oldObject !== undefined || !isRecord(obj))
        return v.parseNonHumanIdentity(obj, options);
      const at = options.now?.getTime();
      const known = parsed.get(obj);
      if (known !== undefined && known.at === at) return known.result;
      const result = v.parseNonHumanIdentity(obj, options);
      parsed.set(obj, { at, result });
      return result;
    },
  };
}

/** Ids an NHIPolicy may name (forbidden, exemptions[].rules): the same list the webhook accepts. */
const KNOWN_RULE_IDS: ReadonlySet<string> = new Set(ADMISSION_RULE_IDS);

function readPolicies(files: string[], io: Io, maxBytes: number): NHIPolicy[] {
  const out: NHIPolicy[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = file === "-" ? io.readStdin(maxBytes) : readManifestFile(file, file, maxBytes);
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (e instanceof ReadProblem && !e.message.startsWith("cannot read"))
        throw new InputError(file, e.line, `--policy file: ${e.message}`);
      throw new InputError(file, undefined, "cannot read the --policy file (no such file?)");
    }
    for (const o of parseStream(text, file)) {
      if (o.obj.kind !== "NHIPolicy")
        throw new InputError(
          file,
          o.location.line,
          `--policy expects NHIPolicy objects, found kind ${String(o.obj.kind)}`,
        );
      const parsed = validator().parseNHIPolicy(o.obj, {
        now: io.now(),
        knownRuleIds: KNOWN_RULE_IDS,
      });
      if (!parsed.ok) {
        const first = parsed.errors[0];
        throw new InputError(
          file,
          first ? o.lineOf(first.path) : o.location.line,
          `invalid NHIPolicy: ${parsed.errors.map(formatFieldError).join("; ")}`,
        );
      }
      out.push(parsed.value);
    }
  }
  return out;
}

interface Inputs {
  paths: string[];
  stdin?: string;
  maxBytes: number;
}

/** --max-bytes, or the documented default. */
function maxBytesOf(values: Values): number {
  const given = str(values["max-bytes"]);
  if (given === undefined) return DEFAULT_MAX_BYTES;
  const n = parseByteSize(given);
  if (n === undefined)
    throw new UsageError(
      `--max-bytes needs a size such as 1048576, 500k, 64Mi or 1G (got ${JSON.stringify(given)})`,
    );
  return n;
}

function inputs(
  values: Values,
  positionals: string[],
  io: Io,
  required: boolean,
  command: string,
): Inputs {
  const paths = [...positionals, ...strs(values.filename)];
  if (required && paths.length === 0)
    throw new UsageError(
      `no manifests given: pass PATH... or -f - for stdin\nRun 'nhictl ${command} --help' for usage.`,
    );
  const maxBytes = maxBytesOf(values);
  return paths.includes("-")
    ? { paths, stdin: io.readStdin(maxBytes), maxBytes }
    : { paths, maxBytes };
}

function useColor(values: Values, io: Io): boolean {
  return (
    io.isTTY &&
    values["no-color"] !== true &&
    (io.env.NO_COLOR ?? "") === "" &&
    io.env.TERM !== "dumb"
  );
}

async function clusterSnapshot(values: Values, io: Io): Promise<ClusterSnapshot | undefined> {
  if (values.cluster !== true) {
    const stray = ["kubeconfig", "context"].find((k) => values[k] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} only applies with --cluster`);
    return undefined;
  }
  const { readCluster } = await import("./cluster.js");
  return readCluster(
    { context: str(values.context), kubeconfig: str(values.kubeconfig) },
    { notice: (m) => io.stderr(`nhictl: ${m}\n`) },
  );
}

async function check(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("check", args);
  if (values.help) {
    io.stdout(HELP.check ?? "");
    return EXIT.ok;
  }
  const format: Format = formatOf(values, FORMATS);
  const src = inputs(values, positionals, io, true, "check");
  const now = io.now();
  const policies = readPolicies(strs(values.policy), io, src.maxBytes);
  const loaded = loadSources(src);
  // A run that judged nothing must not pass: a wrong path, links not followed, an empty render.
  if (loaded.objects.length === 0 && values["allow-empty"] !== true) {
    throw new InputError(
      src.paths.join(", "),
      undefined,
      `no objects found in the given paths (${loaded.files.length} manifest file${loaded.files.length === 1 ? "" : "s"} read); nothing was judged. Pass --allow-empty if that is expected`,
    );
  }
  const set = manifestSetOf(loaded.objects, values, now);
  const cluster = await clusterSnapshot(values, io);
  const report = runCheck(
    set,
    loaded.files,
    { policies, strict: values.strict === true, now, ...(cluster ? { cluster } : {}) },
    validator(),
  );
  const adoption = adoptionPolicy(report.violations, { now });
  io.stdout(
    formatReport(report, format, useColor(values, io), {
      adoption,
      suggest: values["suggest-exemptions"] === true,
    }),
  );
  return report.violations.length > 0 ? EXIT.violations : EXIT.ok;
}

async function explainCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("explain", args);
  if (values.help) {
    io.stdout(HELP.explain ?? "");
    return EXIT.ok;
  }
  const [target, ...rest] = positionals;
  if (target === undefined)
    throw new UsageError(
      "explain needs NAMESPACE/SERVICEACCOUNT or GROUP\nRun 'nhictl explain --help' for usage.",
    );
  const holder = parseExplainTarget(target);
  if (!holder)
    throw new UsageError(
      `expected NAMESPACE/SERVICEACCOUNT (or system:serviceaccount:NS:NAME), or a ServiceAccount group (system:serviceaccounts:NS, system:serviceaccounts, system:authenticated, system:unauthenticated), got ${JSON.stringify(target)}`,
    );
  const format = formatOf(values, ["text", "json"]);
  const cluster = await clusterSnapshot(values, io);
  const src = inputs(values, rest, io, cluster === undefined, "explain");
  const now = io.now();
  const loaded = loadSources(src);
  const set = manifestSetOf(loaded.objects, values, now);
  const result = explain(set, holder, { now, ...(cluster ? { cluster } : {}) });
  io.stdout(
    format === "json"
      ? `${JSON.stringify(result, null, 2)}\n`
      : formatExplainText(result, useColor(values, io)),
  );
  return EXIT.ok;
}

async function inventoryCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("inventory", args);
  if (values.help) {
    io.stdout(HELP.inventory ?? "");
    return EXIT.ok;
  }
  const format = formatOf(values, ["table", "json"]);
  const endpoint = str(values.endpoint);
  let inventory: InventoryResult;
  if (endpoint !== undefined) {
    if (values.cluster === true || positionals.length > 0 || strs(values.filename).length > 0)
      throw new UsageError(
        "--endpoint reads the operator's inventory; it takes no --cluster and no PATH",
      );
    inventory = await inventoryFromEndpoint(endpoint);
  } else {
    const paths = [...positionals, ...strs(values.filename)];
    const cluster =
      values.cluster === true || paths.length === 0
        ? await clusterSnapshot({ ...values, cluster: true }, io)
        : await clusterSnapshot(values, io);
    const maxBytes = maxBytesOf(values);
    const src = paths.includes("-")
      ? { paths, stdin: io.readStdin(maxBytes), maxBytes }
      : { paths, maxBytes };
    const now = io.now();
    const set = manifestSetOf(loadSources(src).objects, values, now);
    inventory = inventoryFromSnapshot(set, cluster, now);
  }
  io.stdout(
    format === "json"
      ? `${JSON.stringify(inventory.document, null, 2)}\n`
      : formatInventoryTable(inventory),
  );
  return EXIT.ok;
}

async function graphCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("graph", args);
  if (values.help) {
    io.stdout(GRAPH_HELP);
    return EXIT.ok;
  }
  const format: GraphFormat = formatOf(values, GRAPH_FORMATS);
  const node = (flag: "from" | "to"): string | undefined => {
    const v = str(values[flag]);
    if (v === undefined) return undefined;
    const id = parseNodeArg(v);
    if (id === undefined || (flag === "from" && id === "cluster-admin")) {
      throw new UsageError(
        `--${flag} expects NAMESPACE/NAME, system:serviceaccount:NS:NAME or a ServiceAccount group${flag === "to" ? ", or cluster-admin" : ""}; got ${JSON.stringify(v)}`,
      );
    }
    return id;
  };
  const from = node("from");
  const to = node("to");
  const cluster = await clusterSnapshot(values, io);
  const src = inputs(values, positionals, io, cluster === undefined, "graph");
  const now = io.now();
  const set = manifestSetOf(loadSources(src).objects, values, now);
  const report = buildGraphReport(set, {
    now,
    ...(cluster ? { cluster } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  });
  io.stdout(formatGraph(report, format));
  return EXIT.ok;
}

function positiveInt(values: Values, name: string, fallback: number): number {
  const v = str(values[name]);
  if (v === undefined) return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(v))
    throw new UsageError(`--${name} must be a positive whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function auditCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(HELP.audit ?? "");
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (sub !== "analyze" && sub !== "rightsize")
    throw new UsageError(
      `unknown audit command ${JSON.stringify(sub)}; use: nhictl audit analyze FILE... or nhictl audit rightsize FILE...`,
    );
  const { values, positionals } = parse("audit", rest);
  if (values.help) {
    io.stdout(HELP.audit ?? "");
    return EXIT.ok;
  }
  const format = formatOf(values, ["text", "json"]);
  const failOn = (str(values["fail-on"]) ?? "medium") as Severity;
  if (!SEVERITIES.includes(failOn))
    throw new UsageError(`unknown --fail-on ${failOn}; use one of ${SEVERITIES.join(", ")}`);
  const files = [...positionals, ...strs(values.filename)];
  if (files.length === 0)
    throw new UsageError(
      "no audit log given: pass FILE... or - for stdin\nRun 'nhictl audit --help' for usage.",
    );
  const manifests = strs(values.manifests);
  if (files.includes("-") && manifests.includes("-"))
    throw new UsageError("stdin (-) can be the audit log or the manifests, not both");
  const { enumeration, secretReads } = DEFAULT_DETECTOR_OPTIONS;
  const options = {
    trustedMinters: strs(values["trusted-minter"]),
    enumeration: {
      ...enumeration,
      threshold: positiveInt(values, "enumeration-threshold", enumeration.threshold),
      windowSeconds: positiveInt(values, "enumeration-window", enumeration.windowSeconds),
    },
    secretReads: {
      threshold: positiveInt(values, "secret-reads", secretReads.threshold),
      windowSeconds: positiveInt(values, "secret-reads-window", secretReads.windowSeconds),
    },
  };
  const now = io.now();
  // Without manifests there is nothing to validate: the CRD validator is not built (it is the slow part of a start).
  const maxBytes = maxBytesOf(values);
  const cluster = await clusterSnapshot(values, io);
  let merged = cluster ?? emptySnapshot();
  if (manifests.length > 0) {
    const set = manifestSetOf(
      loadSources(
        manifests.includes("-")
          ? { paths: manifests, stdin: io.readStdin(maxBytes), maxBytes }
          : { paths: manifests, maxBytes },
      ).objects,
      values,
      now,
    );
    for (const bad of set.invalid) {
      if (bad.object.obj.kind === "NonHumanIdentity")
        io.stderr(
          `nhictl: ${bad.object.location.file}:${bad.object.location.line}: invalid NonHumanIdentity, not used: ${bad.errors.map(formatFieldError).join("; ")}\n`,
        );
    }
    // The manifests replace the cluster's objects of the same name, as in check.
    merged = overlaySnapshot(merged, set.snapshot, definedBy(set));
  }
  const baselineFile = str(values.baseline);
  const baselineOptions = {
    learningSeconds: positiveInt(
      values,
      "learning-window",
      DEFAULT_BASELINE_OPTIONS.learningSeconds,
    ),
    maxHabits: positiveInt(values, "baseline-max-habits", DEFAULT_BASELINE_OPTIONS.maxHabits),
  };
  const baseline = baselineFile
    ? loadBaselineFile(baselineFile, baselineOptions, io.stderr)
    : new Baseline(baselineOptions);
  const usage = sub === "rightsize" ? new UsageRecorder() : undefined;
  const detector = new AuditDetector(
    { declaration: declarationIndex(merged.nhis), podIPs: podIPIndex(merged.workloads) },
    options,
    { baseline, ...(usage ? { usage } : {}) },
  );
  const summary: AnalyzeSummary = { files: [], lines: 0, events: 0, findingsDropped: 0 };
  for (const file of files)
    await analyzeFile(
      file,
      detector,
      io.stdinStream ?? (() => Readable.from([io.readStdin(maxBytes)])),
      summary,
    );
  if (baselineFile) saveBaselineFile(baselineFile, baseline);
  summary.baseline = {
    ...baseline.stats(now.getTime()),
    ...(baselineFile ? { file: baselineFile } : {}),
  };
  if (usage) {
    const proposals = rightsizeSnapshot(usage, merged);
    io.stdout(
      format === "json"
        ? formatRightsizeJson(proposals, summary)
        : formatRightsizeText(proposals, summary, useColor(values, io)),
    );
    return EXIT.ok;
  }
  const findings = detector.findings();
  io.stdout(
    format === "json"
      ? formatAuditJson(findings, summary, failOn)
      : formatAuditText(findings, summary, failOn, useColor(values, io)),
  );
  return findings.some((f) => atLeast(f.severity, failOn)) ? EXIT.violations : EXIT.ok;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "-h":
      case "--help":
        io.stdout(rest[0] === "graph" ? GRAPH_HELP : (HELP[rest[0] ?? "main"] ?? HELP.main ?? ""));
        return command === undefined ? EXIT.usage : EXIT.ok;
      case "-v":
      case "--version":
      case "version":
        io.stdout(`${TOOL.name} ${TOOL.version}\n`);
        return EXIT.ok;
      case "check":
        return await check(rest, io);
      case "explain":
        return await explainCommand(rest, io);
      case "inventory":
        return await inventoryCommand(rest, io);
      case "graph":
        return await graphCommand(rest, io);
      case "audit":
        return await auditCommand(rest, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${HELP.main ?? ""}`);
    }
  } catch (e) {
    // ClusterReadError (cli/cluster.ts, loaded on demand): a list the cluster refused or failed.
    if (
      e instanceof InputError ||
      e instanceof UsageError ||
      (e instanceof Error && e.name === "ClusterReadError")
    ) {
      io.stderr(`nhictl: ${e.message}\n`);
      return EXIT.usage;
    }
    if (
      e instanceof Error &&
      /kubeconfig|ECONNREFUSED|ENOTFOUND|getaddrinfo|cluster|endpoint/i.test(e.message)
    ) {
      io.stderr(`nhictl: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: (maxBytes) => {
    try {
      return decodeUtf8(readBounded(0, maxBytes, "<stdin>", false), "<stdin>");
    } catch (e) {
      if (e instanceof ReadProblem) throw new InputError("<stdin>", e.line, e.message);
      throw new InputError(
        "<stdin>",
        undefined,
        `cannot read stdin: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  },
  stdinStream: () => process.stdin,
  isTTY: process.stdout.isTTY === true,
  env: process.env,
  now: () => new Date(),
};

// `nhictl … | head`: a closed pipe ends the output, not the process with a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `nhictl: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = EXIT.usage;
  },
);
