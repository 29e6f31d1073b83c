// metav1.Condition bookkeeping: lastTransitionTime moves only when the status changes.
import type { Condition } from "../nhi/types.js";
import { formatTime } from "../rotation/state.js";

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/**
 * The new condition list: each desired condition keeps its previous lastTransitionTime when its
 * status did not change. Conditions of other types (set by someone else) are kept as they are.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  desired: readonly ConditionInput[],
  now: number,
  generation?: number,
): Condition[] {
  const old = new Map((previous ?? []).map((c) => [c.type, c]));
  const mine = new Set(desired.map((d) => d.type));
  const out: Condition[] = desired.map((d) => {
    const before = old.get(d.type);
    const lastTransitionTime =
      before && before.status === d.status ? before.lastTransitionTime : formatTime(now);
    return {
      ...d,
      message: d.message.slice(0, 32768),
      lastTransitionTime,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
  for (const c of previous ?? []) if (!mine.has(c.type)) out.push(c);
  return out.slice(0, 16);
}

/** The condition that changed status between two lists (for events on transitions). */
export function transitions(
  previous: readonly Condition[] | undefined,
  next: readonly Condition[],
): { type: string; from?: string; to: string; reason: string; message: string }[] {
  const old = new Map((previous ?? []).map((c) => [c.type, c]));
  return next
    .filter((c) => old.get(c.type)?.status !== c.status || old.get(c.type)?.reason !== c.reason)
    .map((c) => ({
      type: c.type,
      from: old.get(c.type)?.status,
      to: c.status,
      reason: c.reason,
      message: c.message,
    }));
}
