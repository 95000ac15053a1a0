/**
 * AWS names of the resources the stacks create. Every name carries the stack
 * (environment) and, for per-migration resources, the migration id, so two
 * migrations, or two environments sharing an account, can never collide.
 */

/** Joins name parts with dashes and refuses a name longer than AWS accepts for `kind`. */
export function awsName(kind: string, maxLength: number, ...parts: string[]): string {
  const name = ["cutover", ...parts].join("-");
  if (name.length > maxLength) {
    throw new Error(
      `${kind} name "${name}" is ${name.length} characters; AWS accepts at most ${maxLength}. Shorten the migration id or the environment name.`,
    );
  }
  return name;
}

/** Maximum lengths AWS enforces for the names used here. */
export const NAME_LIMITS = {
  iamRole: 64,
  eventRule: 64,
  eventConnection: 64,
  apiDestination: 64,
  alarm: 255,
  dashboard: 255,
  apiGateway: 128,
  lambdaFunction: 64,
  sqsQueue: 80,
  s3Bucket: 63,
} as const;
