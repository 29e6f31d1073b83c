// Writes a NonHumanIdentity's status through the /status subresource, only when it changed.
// A merge patch replaces arrays whole and names every top-level field (null removes it), so the
// result is exactly the desired status whatever was there before; no resourceVersion, so no 409 loop.
import type { NonHumanIdentityStatus } from "../../core/nhi/types.js";
import { MERGE_PATCH, type KubeRest } from "./rest.js";

/** The inventory's fields; status.anomalies and status.rightsize are the audit sink's, written by it. */
const STATUS_FIELDS: (keyof NonHumanIdentityStatus)[] = [
  "phase",
  "observedGeneration",
  "conditions",
  "excessPermissions",
  "credentials",
  "nextRotationAt",
  "risk",
  "lastUsed",
  "blastRadius",
];

/** Canonical JSON (sorted keys) for comparisons. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function statusChanged(
  current: NonHumanIdentityStatus | undefined,
  desired: NonHumanIdentityStatus,
): boolean {
  return canonical(current ?? {}) !== canonical(desired);
}

export function statusPatch(desired: NonHumanIdentityStatus): Record<string, unknown> {
  const status: Record<string, unknown> = {};
  for (const f of STATUS_FIELDS) status[f] = desired[f] === undefined ? null : desired[f];
  return { status };
}

export interface StatusWriter {
  write(
    namespace: string,
    name: string,
    current: NonHumanIdentityStatus | undefined,
    desired: NonHumanIdentityStatus,
  ): Promise<boolean>;
}

export class RestStatusWriter implements StatusWriter {
  writes = 0;
  constructor(private readonly rest: KubeRest) {}

  async write(
    namespace: string,
    name: string,
    current: NonHumanIdentityStatus | undefined,
    desired: NonHumanIdentityStatus,
  ): Promise<boolean> {
    if (!statusChanged(current, desired)) return false;
    await this.rest.request(
      "PATCH",
      `/apis/nhi.io/v1alpha1/namespaces/${namespace}/nonhumanidentities/${name}/status`,
      { body: statusPatch(desired), contentType: MERGE_PATCH },
    );
    this.writes++;
    return true;
  }
}
