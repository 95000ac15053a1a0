/**
 * How cutover's jobs identify themselves to AWS: the claims of the OIDC
 * subject and which workflows run in which environment. The roles in infra/
 * trust exactly these subjects, `cutover github-setup` applies the template
 * and `cutover doctor` and the apply chain's first job check it.
 */

/** Claims the repository's OIDC subject template carries, in order (PUT /repos/{owner}/{repo}/actions/oidc/customization/sub). */
export const OIDC_SUBJECT_CLAIMS = ["repo", "context", "ref", "job_workflow_ref"] as const;

/** The reviewer-less environment of rollbacks and the monitor's judgement. */
export const ROLLBACK_ENVIRONMENT = "cutover-rollback";

/** Workflows whose jobs run in the rollback environment. */
export const ROLLBACK_WORKFLOWS = [
  "cutover-rollback.yml",
  "monitor-migration.yml",
  "apply-migration.yml",
] as const;

/**
 * Workflows whose jobs act in a phase's acting environment: the apply chain,
 * and the monitor's delete after a decommission hold.
 */
export const PHASE_WORKFLOWS = ["apply-migration.yml", "monitor-migration.yml"] as const;

/** The reviewer-less environment whose jobs act for a phase's environment (its reviewers only approve). */
export function actingEnvironment(phaseEnvironment: string): string {
  return `cutover-${phaseEnvironment}`;
}
