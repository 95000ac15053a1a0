#!/usr/bin/env bash
# The checks the apply chain can make with its own token before anything
# acts, so a repository missing a setting stops with what to change instead
# of running half protected (cutover doctor checks the same and more with an
# administrator's token):
#   - the OIDC subject template carries repo, context, ref, job_workflow_ref;
#   - each acting environment (cutover-<environment>) and cutover-rollback
#     exists, has no reviewers and lets only the default branch deploy;
#   - each phase environment has required reviewers and prevents self-review;
#   - no ruleset active on the state branch holds a rule that refuses the
#     status commits unless this token (GitHub Actions) may bypass it, or every
#     status commit, and with it each rollback's record, would be refused.
#
# Environment: GH_TOKEN, API (the REST API base URL), REPOSITORY (owner/name),
# DEFAULT_BRANCH, STATE_BRANCH (empty: the default branch), ENVIRONMENTS (the
# phase environments, one per line).
set -euo pipefail

# Rule types that refuse a status commit pushed by GitHub Actions; the same
# list as BLOCKING_RULES in src/cli/github-status-rules.ts, which says why each
# one does and why the others (non_fast_forward, deletion, required_linear_history,
# creation, ...) do not.
BLOCKING_RULES='["pull_request","required_status_checks","update","required_signatures","required_deployments","merge_queue","commit_message_pattern","commit_author_email_pattern","committer_email_pattern","workflows","code_scanning"]'

gaps=0
gap() {
  echo "::error title=Repository setting missing::$1"
  gaps=$((gaps + 1))
}
get() {
  curl --silent --show-error --max-time 20 --retry 2 --write-out '\n%{http_code}' \
    -H "Authorization: Bearer $GH_TOKEN" -H "Accept: application/vnd.github+json" \
    -H "X-GitHub-Api-Version: 2022-11-28" "$API/repos/$REPOSITORY$1"
}
# Sets BODY and CODE from one GET.
fetch() {
  local out
  out="$(get "$1")"
  CODE="${out##*$'\n'}"
  BODY="${out%$'\n'*}"
}

fetch /actions/oidc/customization/sub
if [[ "$CODE" != 200 ]]; then
  gap "could not read the OIDC subject template (HTTP $CODE); grant the job actions: read"
elif [[ "$(jq -c '[.use_default, .include_claim_keys]' <<<"$BODY")" != '[false,["repo","context","ref","job_workflow_ref"]]' ]]; then
  gap "the OIDC subject template is $(jq -c . <<<"$BODY"); set include_claim_keys to repo, context, ref, job_workflow_ref (cutover github-setup) or the AWS roles refuse every job"
fi

check_acting() {
  local name="$1"
  fetch "/environments/$name"
  if [[ "$CODE" == 404 ]]; then
    gap "environment $name does not exist; create it with no reviewers, only $DEFAULT_BRANCH allowed to deploy (cutover github-setup)"
    return
  fi
  [[ "$CODE" == 200 ]] || { gap "could not read environment $name (HTTP $CODE)"; return; }
  if jq -e '.protection_rules[]? | select(.type == "required_reviewers")' <<<"$BODY" >/dev/null; then
    gap "environment $name has required reviewers; remove them (the phase's approval is asked once, in its own environment, and a rollback must not wait)"
  fi
  if [[ "$(jq -r '.deployment_branch_policy.custom_branch_policies // false' <<<"$BODY")" != true ]]; then
    gap "environment $name lets every branch deploy; allow only $DEFAULT_BRANCH"
    return
  fi
  fetch "/environments/$name/deployment-branch-policies"
  if [[ "$(jq -c '[.branch_policies[] | select((.type // "branch") == "branch") | .name]' <<<"$BODY")" != "[\"$DEFAULT_BRANCH\"]" ]]; then
    gap "environment $name allows the branches $(jq -c '[.branch_policies[].name]' <<<"$BODY"); allow only $DEFAULT_BRANCH"
  fi
}

check_phase() {
  local name="$1"
  fetch "/environments/$name"
  if [[ "$CODE" != 200 ]]; then
    gap "environment $name (HTTP $CODE): create it with required reviewers and prevent self-review"
    return
  fi
  if ! jq -e '.protection_rules[]? | select(.type == "required_reviewers" and .prevent_self_review == true and (.reviewers | length) > 0)' <<<"$BODY" >/dev/null; then
    gap "environment $name needs required reviewers with prevent self-review on"
  fi
}

check_state_branch() {
  local branch="$1" id name types bypass
  fetch "/rules/branches/$(jq -rn --arg b "$branch" '$b | @uri')?per_page=100"
  if [[ "$CODE" != 200 ]]; then
    gap "could not read the rules of the state branch $branch (HTTP $CODE)"
    return
  fi
  local rules="$BODY"
  for id in $(jq -r --argjson blocking "$BLOCKING_RULES" \
    '[.[] | select(.type as $t | $blocking | index($t)) | .ruleset_id] | unique | .[]' <<<"$rules"); do
    types="$(jq -r --argjson blocking "$BLOCKING_RULES" --argjson id "$id" \
      '[.[] | select(.ruleset_id == $id and (.type as $t | $blocking | index($t))) | .type] | join(", ")' <<<"$rules")"
    fetch "/rulesets/$id"
    if [[ "$CODE" != 200 ]]; then
      gap "could not read ruleset $id on the state branch $branch (HTTP $CODE)"
      continue
    fi
    bypass="$(jq -r '.current_user_can_bypass // "never"' <<<"$BODY")"
    name="$(jq -r '.name' <<<"$BODY")"
    if [[ "$bypass" != always && "$bypass" != exempt ]]; then
      if [[ "$branch" == "$DEFAULT_BRANCH" ]]; then
        gap "ruleset \"$name\" (id $id) on the state branch $branch has $types, which GitHub Actions cannot bypass: every status commit (and so each rollback's record) would be refused; commit status to a dedicated branch (stateBranch in .github/cutover.json, then cutover github-setup) rather than letting GitHub Actions bypass it, which would let any workflow with contents: write push to $branch"
      else
        gap "ruleset \"$name\" (id $id) on the state branch $branch has $types, which GitHub Actions cannot bypass: every status commit (and so each rollback's record) would be refused; remove those rules for $branch or add GitHub Actions (Integration 15368, always) to the ruleset's bypass list"
      fi
    fi
  done
}

check_state_branch "${STATE_BRANCH:-$DEFAULT_BRANCH}"
check_acting cutover-rollback
while IFS= read -r environment; do
  [[ -n "$environment" ]] || continue
  check_phase "$environment"
  check_acting "cutover-$environment"
done <<<"$ENVIRONMENTS"

if ((gaps > 0)); then
  echo "::error title=Stopped before any change::$gaps repository setting(s) the workflows rely on are missing; nothing was changed. Run cutover doctor for the full list."
  exit 1
fi
echo "repository settings: in place"
