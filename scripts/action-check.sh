#!/usr/bin/env bash
# The check step of action.yml: the action's inputs (NHI_* environment variables) become nhictl check
# flags; exits with nhictl's code (0 clean, 1 violations, 2 bad input) and records it, and the SARIF
# file's path, in $GITHUB_OUTPUT. test/unit/release/action.test.ts runs it against the real nhictl.
set -uo pipefail
output=${GITHUB_OUTPUT:-/dev/null}
bad_input() { echo "::error title=nhictl action::$*"; echo "exit-code=2" >>"$output"; exit 2; }

args=(check)
read -r -a paths <<<"$(printf '%s' "${NHI_PATHS:-}" | tr '\n' ' ')"
[ "${#paths[@]}" -gt 0 ] || bad_input "input paths is empty: name the files or folders to check, e.g. paths: manifests/"
for p in "${paths[@]}"; do args+=(--filename "$p"); done
read -r -a policies <<<"$(printf '%s' "${NHI_POLICY:-}" | tr '\n' ' ')"
for p in "${policies[@]}"; do args+=(--policy "$p"); done
[ -z "${NHI_NAMESPACE:-}" ] || args+=(--namespace "$NHI_NAMESPACE")
case "${NHI_STRICT:-false}" in
  true) args+=(--strict) ;;
  false) ;;
  *) bad_input "input strict is true or false (got '${NHI_STRICT}')" ;;
esac

rc=0
case "${NHI_FORMAT:-annotations}" in
  annotations)
    nhictl "${args[@]}" --format github || rc=$?
    ;;
  sarif)
    sarif="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/nhictl.sarif"
    nhictl "${args[@]}" --format sarif >"$sarif" || rc=$?
    # A readable log beside the upload (same findings, text).
    [ "$rc" -eq 2 ] || nhictl "${args[@]}" --format text --no-color || true
    [ "$rc" -eq 2 ] || echo "sarif-file=$sarif" >>"$output"
    ;;
  *) bad_input "input format is annotations or sarif (got '${NHI_FORMAT}')" ;;
esac
echo "exit-code=$rc" >>"$output"
exit "$rc"
