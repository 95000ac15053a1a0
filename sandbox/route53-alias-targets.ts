/**
 * The hosted zones AWS serves alias targets from (load balancers, API Gateway
 * regional domains, CloudFront, S3 websites), with the DNS names that lie in
 * each. Route 53 refuses an alias whose DNSName does not lie within the zone
 * its HostedZoneId names ("the alias target name does not lie within the
 * target zone"), so the sandbox checks the same.
 *
 * Zone ids: https://docs.aws.amazon.com/general/latest/gr/elb.html,
 * https://docs.aws.amazon.com/general/latest/gr/apigateway.html,
 * https://docs.aws.amazon.com/general/latest/gr/s3.html and
 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html (CloudFront).
 */

/** An AWS-owned zone that alias records may target. */
export interface AliasTargetZone {
  /** What the zone serves, for messages. */
  service: string;
  /** Whether an absolute, lower-case DNS name lies within the zone. */
  contains: (dnsName: string) => boolean;
}

const REGIONAL_ELB: Record<string, string> = {
  Z35SXDOTRQ7X7K: "us-east-1",
  Z3AADJGX6KTTL2: "us-east-2",
  Z368ELLRRE2KJ0: "us-west-1",
  Z1H1FL5HABSF5: "us-west-2",
  Z32O12XQLNTSW2: "eu-west-1",
  ZHURV8PSTC4K8: "eu-west-2",
  Z215JYRZR1TBD5: "eu-central-1",
  Z1LMS91P8CMLE5: "ap-southeast-1",
  Z1GM3OXH4ZPM65: "ap-southeast-2",
  Z14GRHDCWA56QT: "ap-northeast-1",
};

const NETWORK_ELB: Record<string, string> = {
  Z26RNL4JYFTOTI: "us-east-1",
  ZLMOA37VPKANP: "us-east-2",
  Z24FKFUX50B4VW: "us-west-1",
  Z18D5FSROUN65G: "us-west-2",
  Z2IFOLAFXWLO4F: "eu-west-1",
  Z3F0SRJ5LGBH90: "eu-central-1",
};

const API_GATEWAY_REGIONAL: Record<string, string> = {
  Z1UJRXOUMOOFQ8: "us-east-1",
  ZOJJZC49E0EPZ: "us-east-2",
  Z2MYXSOVXM3TZN: "us-west-1",
  Z2OJLYMUO9EFXC: "us-west-2",
  ZLY8HYME6SFDD: "eu-west-1",
  Z1U9ULNL0V5AJ3: "eu-central-1",
};

const S3_WEBSITE: Record<string, string> = {
  Z3AQBSTGFYJSTF: "us-east-1",
  Z2O1EMRO9K5GLX: "us-east-2",
  Z2BJ6XQ5FK7U4H: "us-west-2",
  Z1BKCTXD74EZPE: "eu-west-1",
};

const CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2";

/** The AWS-owned alias target zone with this id, undefined for any other id. */
export function aliasTargetZone(hostedZoneId: string): AliasTargetZone | undefined {
  const elb = REGIONAL_ELB[hostedZoneId];
  if (elb !== undefined) {
    // Application and Classic Load Balancers: [dualstack.][internal-]<name>-<id>.<region>.elb.amazonaws.com
    return {
      service: `Elastic Load Balancing (${elb})`,
      contains: (name) => name.endsWith(`.${elb}.elb.amazonaws.com.`),
    };
  }
  const nlb = NETWORK_ELB[hostedZoneId];
  if (nlb !== undefined) {
    // Network Load Balancers: <name>-<id>.elb.<region>.amazonaws.com
    return {
      service: `Network Load Balancer (${nlb})`,
      contains: (name) => name.endsWith(`.elb.${nlb}.amazonaws.com.`),
    };
  }
  const api = API_GATEWAY_REGIONAL[hostedZoneId];
  if (api !== undefined) {
    return {
      service: `API Gateway regional domains (${api})`,
      contains: (name) => name.endsWith(`.execute-api.${api}.amazonaws.com.`),
    };
  }
  const s3 = S3_WEBSITE[hostedZoneId];
  if (s3 !== undefined) {
    return {
      service: `S3 website endpoints (${s3})`,
      contains: (name) =>
        name === `s3-website-${s3}.amazonaws.com.` || name === `s3-website.${s3}.amazonaws.com.`,
    };
  }
  if (hostedZoneId === CLOUDFRONT_ZONE) {
    return { service: "CloudFront", contains: (name) => name.endsWith(".cloudfront.net.") };
  }
  return undefined;
}
