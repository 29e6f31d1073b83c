// Writes a NonHumanIdentity's status.anomalies: the audit sink (any replica) adds findings, the
// response controller (the leader) records what it did. Two writers of one list, so every write is a
// read-modify-write guarded by the resourceVersion (a 409 re-reads). Only this field is patched:
// the inventory's status writer names its own fields and leaves this one alone.
import type { AnomalyRecord, NonHumanIdentity } from "../../core/nhi/types.js";
import { MERGE_PATCH, isNotFound, retryOnConflict, type KubeRest } from "./rest.js";

export const nhiPath = (namespace: string, name: string): string =>
  `/apis/nhi.io/v1alpha1/namespaces/${namespace}/nonhumanidentities/${name}`;

export class AnomalyWriter {
  /** One write at a time per NHI: this process's own writes never conflict with each other. */
  private readonly chains = new Map<string, Promise<unknown>>();
  writes = 0;

  constructor(private readonly rest: KubeRest) {}

  /**
   * Reads the NHI, applies `change` to its anomalies (undefined: nothing to write) and writes the
   * result. Answers the NHI as read and whether it wrote; undefined when the NHI does not exist.
   */
  update(
    namespace: string,
    name: string,
    change: (nhi: NonHumanIdentity) => AnomalyRecord[] | undefined,
  ): Promise<{ nhi: NonHumanIdentity; wrote: boolean } | undefined> {
    const key = `${namespace}/${name}`;
    const run = async (): Promise<{ nhi: NonHumanIdentity; wrote: boolean } | undefined> =>
      retryOnConflict(async () => {
        const nhi = await this.rest.find<NonHumanIdentity>(nhiPath(namespace, name));
        if (!nhi) return undefined;
        const next = change(nhi);
        if (next === undefined) return { nhi, wrote: false };
        try {
          await this.rest.request("PATCH", `${nhiPath(namespace, name)}/status`, {
            contentType: MERGE_PATCH,
            body: {
              metadata: { resourceVersion: nhi.metadata.resourceVersion },
              status: { anomalies: next },
            },
          });
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
        this.writes++;
        return { nhi: { ...nhi, status: { ...nhi.status, anomalies: next } }, wrote: true };
      }, 8);
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(run, run);
    const tail = next.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }
}
