import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { Route53Client } from "@aws-sdk/client-route-53";
import { describeAwsErrors } from "./aws-errors.js";

/** The AWS clients cutover uses, created once per action run. */
export interface AwsClients {
  route53: Route53Client;
  cloudwatch: CloudWatchClient;
  ecs: ECSClient;
  lambda: LambdaClient;
  /** Application Load Balancers, for the alb router. */
  elbv2: ElasticLoadBalancingV2Client;
}

export interface AwsClientOptions {
  /** Region of ECS, Lambda and CloudWatch; Route 53 is global. Defaults to the SDK's own resolution (AWS_REGION). */
  region?: string;
  /** Attempts per call, including the first; the adaptive mode also rate-limits the client when throttled. */
  maxAttempts?: number;
}

/**
 * Creates the clients with the SDK's standard credential chain (OIDC web
 * identity in workflows) and adaptive retry. Endpoints come from the SDK's own
 * settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), so nothing here
 * knows where AWS is. Every error they throw names its service and operation
 * and says whether the call can have changed anything.
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = {
    retryMode: "adaptive" as const,
    maxAttempts: options.maxAttempts ?? 6,
    ...(options.region ? { region: options.region } : {}),
  };
  return {
    // Route 53's control plane lives in us-east-1 whatever the workload's region.
    route53: describeAwsErrors(new Route53Client({ ...common, region: "us-east-1" })),
    cloudwatch: describeAwsErrors(new CloudWatchClient(common)),
    ecs: describeAwsErrors(new ECSClient(common)),
    lambda: describeAwsErrors(new LambdaClient(common)),
    elbv2: describeAwsErrors(new ElasticLoadBalancingV2Client(common)),
  };
}
