// Kubernetes name syntax (apimachinery's validation package) for the checks a structural schema cannot
// express: map keys (label keys in matchLabels) and segment lengths of qualified names.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export function isLabelValue(s: string): boolean {
  return s.length <= 63 && LABEL_VALUE.test(s);
}

/**
 * Problems with a label or annotation key ("prefix/name" or "name"), as sentences; empty when valid.
 * Same rules as apimachinery's IsQualifiedName.
 */
export function qualifiedNameProblems(key: string): string[] {
  const parts = key.split("/");
  if (parts.length > 2) return ["a key has at most one '/' (prefix/name)"];
  const name = parts.length === 2 ? (parts[1] ?? "") : (parts[0] ?? "");
  const prefix = parts.length === 2 ? (parts[0] ?? "") : undefined;
  const problems: string[] = [];
  if (prefix !== undefined && !isDnsSubdomain(prefix)) {
    problems.push(
      `prefix "${prefix}" must be a lowercase DNS subdomain of at most 253 characters, e.g. example.com`,
    );
  }
  if (name === "") problems.push("the name part must not be empty");
  else if (name.length > 63) problems.push(`the name part "${name}" must be at most 63 characters`);
  else if (!QUALIFIED_NAME_PART.test(name)) {
    problems.push(
      `the name part "${name}" may contain only letters, digits, '-', '_' and '.', and must start and end with a letter or digit`,
    );
  }
  return problems;
}
