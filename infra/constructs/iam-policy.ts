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

/** The one weighted record pair a statement may change. */
export interface WeightedRecordTarget {
  hostedZoneArn: string;
  /** Lower-cased, without the trailing dot, as Route 53 normalises it for the condition. */
  recordName: string;
  recordType: string;
}

/**
 * Allows the weight changes cutover makes and nothing else: DELETE + CREATE
 * pairs (a compare-and-swap batch that Route 53 refuses when the records
 * changed since they were read) of one record name and type in one zone.
 * UPSERT is left out, since it would skip that check.
 */
export function weightChangeStatement(sid: string, target: WeightedRecordTarget): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: ["route53:ChangeResourceRecordSets"],
    Resource: [target.hostedZoneArn],
    Condition: {
      "ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [target.recordName],
        "route53:ChangeResourceRecordSetsRecordTypes": [target.recordType],
        "route53:ChangeResourceRecordSetsActions": ["DELETE", "CREATE"],
      },
    },
  };
}
