/**
 * The two weighted Route 53 alias records a migration shifts traffic between:
 * one to the load balancer in front of the old side, one to the API Gateway
 * custom domain in front of the new side.
 */
import { Route53Record } from "@cdktn/provider-aws/lib/route53-record/index.js";
import { Construct } from "constructs";
import type { RouterPlan } from "../inputs/plan.js";

/** Where an alias record points: a DNS name and the hosted zone that name lives in. */
export interface AliasTarget {
  dnsName: string;
  zoneId: string;
}

export interface WeightedRecordPairProps {
  router: RouterPlan;
  oldTarget: AliasTarget;
  newTarget: AliasTarget;
}

/**
 * The weights are owned by the shift and rollback actions, which record every
 * change with its evidence in the migration's status. Terraform only sets them
 * when it creates the records (all traffic on the old side) and ignores them
 * afterwards: a plan that "corrected" weights back to a value in code would
 * silently undo a canary or, worse, a rollback. Taking the weights from the
 * status file instead was rejected because a Terraform run would then race the
 * actions between the status commit and the apply.
 */
export const WEIGHTS_OWNED_BY_ACTIONS = ["weighted_routing_policy"];

/** Weight of each side when the records are first created: nothing moves until the shift action says so. */
export const INITIAL_WEIGHTS = { old: 100, new: 0 } as const;

export class WeightedRecordPair extends Construct {
  readonly oldRecord: Route53Record;
  readonly newRecord: Route53Record;

  constructor(scope: Construct, id: string, props: WeightedRecordPairProps) {
    super(scope, id);
    const { router } = props;
    this.oldRecord = this.record(
      "old-record",
      router,
      router.oldSetIdentifier,
      INITIAL_WEIGHTS.old,
      props.oldTarget,
    );
    this.newRecord = this.record(
      "new-record",
      router,
      router.newSetIdentifier,
      INITIAL_WEIGHTS.new,
      props.newTarget,
    );
  }

  private record(id: string, router: RouterPlan, setIdentifier: string, weight: number, target: AliasTarget) {
    return new Route53Record(this, id, {
      zoneId: router.hostedZoneId,
      name: router.recordName,
      type: router.recordType,
      setIdentifier,
      weightedRoutingPolicy: { weight },
      alias: {
        name: target.dnsName,
        zoneId: target.zoneId,
        // Route 53 stops answering with a side whose target is unhealthy, before any gate notices.
        evaluateTargetHealth: true,
      },
      lifecycle: { ignoreChanges: WEIGHTS_OWNED_BY_ACTIONS },
    });
  }
}
