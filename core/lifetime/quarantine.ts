// Quarantine of a suspended identity's RBAC: its subjects are taken out of the RoleBindings and
// ClusterRoleBindings that name it ("parked") and recorded on the binding itself, so a token that
// still authenticates (a pod-bound one, until its pod goes) gets 403 on everything those bindings
// granted; lifting the suspension puts them back. The record lives on the binding: a restart, or
// another replica, reads it back. Pure: the reconciler reads the binding fresh and writes the result.
import { isRecord } from "../json.js";
import { parseServiceAccountIdentity } from "../policy/settings.js";
import type { ServiceAccountRef, Subject } from "../rbac/types.js";

/** On a binding: JSON list of { nhi: "ns/name", subject } taken out while that NHI is suspended. */
export const PARKED_SUBJECTS_ANNOTATION = "nhi.io/parked-subjects";

export interface ParkedSubject {
  /** "namespace/name" of the suspended NHI. */
  nhi: string;
  subject: Subject;
}

export interface BindingLike {
  kind: "RoleBinding" | "ClusterRoleBinding";
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  subjects?: Subject[];
}

/** The binding's subjects and annotations after a park or a restore. */
export interface BindingChange {
  subjects: Subject[];
  annotations: Record<string, string>;
  /** The subjects moved, for the record. */
  moved: Subject[];
}

/** Whether `s` (in a binding of `bindingNamespace`, "" for a ClusterRoleBinding) names `sa` directly. */
export function namesServiceAccount(
  s: Subject,
  bindingNamespace: string,
  sa: ServiceAccountRef,
): boolean {
  if (s.kind === "ServiceAccount")
    return s.name === sa.name && (s.namespace || bindingNamespace) === sa.namespace;
  if (s.kind === "User") {
    const id = parseServiceAccountIdentity(s.name);
    return id !== undefined && id.namespace === sa.namespace && id.name === sa.name;
  }
  return false;
}

/** The parked subjects recorded on a binding; a garbled annotation reads as none. */
export function parkedSubjects(annotations: Record<string, string> | undefined): ParkedSubject[] {
  const raw = annotations?.[PARKED_SUBJECTS_ANNOTATION];
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    if (!Array.isArray(v)) return [];
    return v.flatMap((p): ParkedSubject[] =>
      isRecord(p) &&
      typeof p.nhi === "string" &&
      isRecord(p.subject) &&
      typeof p.subject.kind === "string" &&
      typeof p.subject.name === "string"
        ? [{ nhi: p.nhi, subject: p.subject as unknown as Subject }]
        : [],
    );
  } catch {
    return [];
  }
}

function withParked(
  annotations: Record<string, string> | undefined,
  parked: ParkedSubject[],
): Record<string, string> {
  const out = { ...annotations };
  if (parked.length === 0) delete out[PARKED_SUBJECTS_ANNOTATION];
  else out[PARKED_SUBJECTS_ANNOTATION] = JSON.stringify(parked);
  return out;
}

/** Takes `sa`'s subjects out of the binding for `nhi`; undefined when the binding does not name it. */
export function parkSubjects(
  b: BindingLike,
  sa: ServiceAccountRef,
  nhi: string,
): BindingChange | undefined {
  const ns = b.kind === "RoleBinding" ? (b.metadata.namespace ?? "") : "";
  const subjects = b.subjects ?? [];
  const moved = subjects.filter((s) => namesServiceAccount(s, ns, sa));
  if (moved.length === 0) return undefined;
  return {
    subjects: subjects.filter((s) => !moved.includes(s)),
    annotations: withParked(b.metadata.annotations, [
      ...parkedSubjects(b.metadata.annotations),
      ...moved.map((subject) => ({ nhi, subject })),
    ]),
    moved,
  };
}

/** Puts back what was parked on the binding for `nhi`; undefined when nothing was. */
export function restoreSubjects(b: BindingLike, nhi: string): BindingChange | undefined {
  const parked = parkedSubjects(b.metadata.annotations);
  const mine = parked.filter((p) => p.nhi === nhi);
  if (mine.length === 0) return undefined;
  const subjects = [...(b.subjects ?? [])];
  const same = (x: Subject, y: Subject): boolean =>
    x.kind === y.kind && x.name === y.name && (x.namespace ?? "") === (y.namespace ?? "");
  for (const p of mine) if (!subjects.some((s) => same(s, p.subject))) subjects.push(p.subject);
  return {
    subjects,
    annotations: withParked(
      b.metadata.annotations,
      parked.filter((p) => p.nhi !== nhi),
    ),
    moved: mine.map((p) => p.subject),
  };
}
