// What each `pattern` in the CRDs means, in words, so a pattern error says what would be valid instead
// of printing a regular expression. Keyed by the exact pattern text; a unit test fails when a CRD
// pattern has no entry here.

const DNS_SUBDOMAIN = String.raw`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`;
const QUALIFIED_NAME = String.raw`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`;

/** The CRDs' duration pattern: Go durations restricted to h, m and s. */
export const DURATION_PATTERN = String.raw`^([0-9]+(\.[0-9]+)?(h|m|s))+$`;

export const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  [DURATION_PATTERN]: "a duration such as 1h, 20m, 720h or 1h30m (units h, m and s)",
  [DNS_SUBDOMAIN]:
    "a lowercase name of letters, digits, '-' and '.', starting and ending with a letter or digit, e.g. orders-api",
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$":
    "a lowercase name of letters, digits and '-', starting and ending with a letter or digit, e.g. orders-ci",
  [String.raw`^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$`]:
    'a namespace name such as shop, or "*" for cluster-wide',
  [String.raw`^(\*|/[^*]*\*?)$`]:
    'a URL path starting with "/" with "*" only at the end, e.g. /healthz or /metrics/*, or "*" alone',
  "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$":
    "a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)",
  [QUALIFIED_NAME]:
    "a label or annotation key: an optional DNS prefix and '/', then a name of letters, digits, '-', '_' and '.', e.g. app.kubernetes.io/name",
  "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?/[A-Za-z0-9._/:@*?-]+$":
    "an image pattern that starts with the registry host written out, e.g. registry.example.com/shop/orders-api:* (* and ? only after the first '/')",
  "^[-._a-zA-Z0-9]+$": "a Secret data key of letters, digits, '-', '_' and '.', e.g. tls.crt",
  [String.raw`^\$`]:
    "a JSONPath starting with $, e.g. $.metadata.annotations['example.com/expires-at']",
  [String.raw`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`]:
    "a condition type in CamelCase, optionally prefixed with a DNS name and '/', e.g. Ready",
  "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$":
    "a CamelCase reason of letters, digits, '_', ',' and ':', e.g. TokenRotated",
  "^[-a-z0-9*?]+$":
    "a namespace name, or a glob of lowercase letters, digits, '-', * and ?, e.g. team-*",
  "^[-a-z0-9*?]+/[-.a-z0-9*?]+$":
    "a ServiceAccount as namespace/name, * and ? allowed, e.g. monitoring/prometheus-*",
};
