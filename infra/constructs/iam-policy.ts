/**
 * IAM policy documents as plain data. Policies are rendered with JSON.stringify
 * (resource references become Terraform interpolations inside the string), so
 * the synthesized policy is a JSON document tests can parse and inspect.
 */

/** One statement of an IAM policy. */
export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A trust policy statement (a principal instead of resources). */
export interface TrustStatement {
  Sid?: string;
  Effect: "Allow";
  Principal: { Federated: string } | { Service: string };
  Action: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Renders a permissions policy document. */
export function policyDocument(statements: PolicyStatement[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Renders a trust policy document. */
export function trustDocument(statements: TrustStatement[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}
