// Reads the recorded audit fixtures (test/fixtures/audit) into events.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAuditLine } from "../../../core/audit/index.js";
import type { AuditEvent, DeclaredIdentity } from "../../../core/audit/index.js";
import { ROOT } from "../../cli/run.js";

export function fixtureEvents(...names: string[]): AuditEvent[] {
  return names.flatMap((n) =>
    readFileSync(join(ROOT, "test", "fixtures", "audit", `${n}.jsonl`), "utf8")
      .split("\n")
      .flatMap((line) => {
        const r = parseAuditLine(line);
        if (r === undefined) return [];
        if ("error" in r) throw new Error(`${n}: ${r.error}`);
        return [r.event];
      }),
  );
}

/** The NHI the recorded fixtures' shop/api ServiceAccount is judged against: ConfigMap reads in shop. */
export const API_NHI: DeclaredIdentity = {
  nhi: "shop/api",
  legacyTokens: "Forbid",
  declaresTokens: false,
  scopes: [
    {
      apiGroups: [""],
      resources: ["configmaps"],
      verbs: ["get", "list", "watch"],
      namespaces: ["shop"],
    },
  ],
};
