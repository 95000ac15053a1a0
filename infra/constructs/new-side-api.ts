/**
 * The new side of a migration: the Lambda function, the alias the router points
 * at (through API Gateway), and an HTTP API with the migration's record name as
 * custom domain, mapped to the stage that invokes the alias.
 */
import { Apigatewayv2Api } from "@cdktn/provider-aws/lib/apigatewayv2-api/index.js";
import { Apigatewayv2ApiMapping } from "@cdktn/provider-aws/lib/apigatewayv2-api-mapping/index.js";
import { Apigatewayv2DomainName } from "@cdktn/provider-aws/lib/apigatewayv2-domain-name/index.js";
import { Apigatewayv2Integration } from "@cdktn/provider-aws/lib/apigatewayv2-integration/index.js";
import { Apigatewayv2Route } from "@cdktn/provider-aws/lib/apigatewayv2-route/index.js";
import { Apigatewayv2Stage } from "@cdktn/provider-aws/lib/apigatewayv2-stage/index.js";
import { DataAwsAcmCertificate } from "@cdktn/provider-aws/lib/data-aws-acm-certificate/index.js";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role/index.js";
import { LambdaAlias } from "@cdktn/provider-aws/lib/lambda-alias/index.js";
import { LambdaFunction } from "@cdktn/provider-aws/lib/lambda-function/index.js";
import { LambdaPermission } from "@cdktn/provider-aws/lib/lambda-permission/index.js";
import { Construct } from "constructs";
import type { MigrationInfraConfig } from "../inputs/config.js";
import type { LambdaHttpTarget } from "../inputs/plan.js";
import { trustDocument } from "./iam-policy.js";
import { awsName, NAME_LIMITS } from "./names.js";
import type { AliasTarget } from "./weighted-record-pair.js";

export interface NewSideApiProps {
  stackName: string;
  migrationId: string;
  newSide: LambdaHttpTarget;
  /** The router's record name: the API's custom domain. */
  domainName: string;
  settings: MigrationInfraConfig;
  /**
   * Keep the API's own execute-api endpoint open: the load tests of this
   * stack reach the new side through it while the weighted record still sends
   * everything to the old side.
   */
  directEndpoint: boolean;
  /** Where the first code package is (Terraform variable references); deploys replace it afterwards. */
  code: { s3Bucket: string; s3Key: string };
  partition: string;
  tags: Record<string, string>;
}

/**
 * The deploy action owns the function's code and the alias's version: it
 * uploads code, publishes a version and moves the alias, and records the
 * previous version so rollback can restore it. Terraform creates both once and
 * then leaves these fields alone, or the next apply would put back the first
 * package and undo a release (or a rollback).
 */
export const CODE_OWNED_BY_DEPLOY = ["s3_bucket", "s3_key", "s3_object_version", "source_code_hash"];
export const ALIAS_VERSION_OWNED_BY_DEPLOY = ["function_version", "routing_config"];

export class NewSideApi extends Construct {
  readonly function: LambdaFunction;
  readonly alias: LambdaAlias;
  readonly api: Apigatewayv2Api;
  readonly domain: Apigatewayv2DomainName;
  /** The alias target the new side's weighted record points at. */
  readonly aliasTarget: AliasTarget;

  constructor(scope: Construct, id: string, props: NewSideApiProps) {
    super(scope, id);
    const { newSide, settings } = props;

    const executionRole = new IamRole(this, "execution-role", {
      name: awsName("IAM role", NAME_LIMITS.iamRole, props.stackName, props.migrationId, "lambda"),
      description: `Execution role of ${newSide.functionName} (cutover migration ${props.migrationId})`,
      assumeRolePolicy: trustDocument([
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ["sts:AssumeRole"] },
      ]),
      managedPolicyArns: [`arn:${props.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`],
      tags: props.tags,
    });

    this.function = new LambdaFunction(this, "function", {
      functionName: newSide.functionName,
      description: `New side of cutover migration ${props.migrationId}`,
      role: executionRole.arn,
      runtime: settings.lambda.runtime,
      handler: settings.lambda.handler,
      architectures: [settings.lambda.architecture],
      memorySize: settings.lambda.memoryMb,
      timeout: settings.lambda.timeoutSeconds,
      s3Bucket: props.code.s3Bucket,
      s3Key: props.code.s3Key,
      // A published version gives the alias something immutable to point at from the first apply.
      publish: true,
      tags: props.tags,
      lifecycle: { ignoreChanges: CODE_OWNED_BY_DEPLOY },
    });

    this.alias = new LambdaAlias(this, "alias", {
      functionName: this.function.functionName,
      name: newSide.alias,
      description: `Alias the cutover router sends traffic to (migration ${props.migrationId})`,
      functionVersion: this.function.version,
      lifecycle: { ignoreChanges: ALIAS_VERSION_OWNED_BY_DEPLOY },
    });

    this.api = new Apigatewayv2Api(this, "http-api", {
      name: awsName("HTTP API", NAME_LIMITS.apiGateway, props.stackName, props.migrationId),
      protocolType: "HTTP",
      description: `HTTP API in front of ${newSide.functionName}:${newSide.alias} (cutover migration ${props.migrationId})`,
      // Clients must come through the custom domain, so the weighted record decides who serves them;
      // only a stack that load-tests the new side keeps the direct endpoint, for the load tests.
      disableExecuteApiEndpoint: !props.directEndpoint,
      tags: props.tags,
    });

    const integration = new Apigatewayv2Integration(this, "alias-integration", {
      apiId: this.api.id,
      integrationType: "AWS_PROXY",
      integrationUri: this.alias.arn,
      payloadFormatVersion: "2.0",
    });

    new Apigatewayv2Route(this, "default-route", {
      apiId: this.api.id,
      routeKey: "$default",
      target: `integrations/${integration.id}`,
    });

    const stage = new Apigatewayv2Stage(this, "stage", {
      apiId: this.api.id,
      // The stage named in the spec's telemetry: the gate reads metrics with this Stage dimension.
      name: newSide.telemetry.stage,
      autoDeploy: true,
      tags: props.tags,
    });

    new LambdaPermission(this, "api-invoke-permission", {
      statementId: "cutover-http-api-invoke",
      action: "lambda:InvokeFunction",
      functionName: this.function.functionName,
      qualifier: this.alias.name,
      principal: "apigateway.amazonaws.com",
      sourceArn: `${this.api.executionArn}/*`,
    });

    const certificateArn = settings.certificateArn ?? this.lookUpCertificate(props.domainName);
    this.domain = new Apigatewayv2DomainName(this, "custom-domain", {
      domainName: props.domainName,
      domainNameConfiguration: { certificateArn, endpointType: "REGIONAL", securityPolicy: "TLS_1_2" },
      tags: props.tags,
    });

    new Apigatewayv2ApiMapping(this, "api-mapping", {
      apiId: this.api.id,
      domainName: this.domain.domainName,
      stage: stage.name,
    });

    this.aliasTarget = {
      dnsName: this.domain.domainNameConfiguration.targetDomainName,
      zoneId: this.domain.domainNameConfiguration.hostedZoneId,
    };
  }

  private lookUpCertificate(domainName: string): string {
    const certificate = new DataAwsAcmCertificate(this, "certificate", {
      domain: domainName,
      statuses: ["ISSUED"],
      mostRecent: true,
    });
    return certificate.arn;
  }
}
