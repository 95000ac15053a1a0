/**
 * Route 53 refusals as AWS words them, driven through the real SDK client.
 * Each case cites where AWS's behaviour is documented or recorded.
 */
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  Route53Client,
} from "@aws-sdk/client-route-53";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../../sandbox/index.js";
import { clientConfig, rejectionOf, startTestSandbox } from "../../fixtures/sandbox/control-plane.js";

const ZONE = "Z0123456789EXAMPLECOM";
let sandbox: Sandbox;
let route53: Route53Client;

beforeEach(async () => {
  sandbox = await startTestSandbox();
  route53 = new Route53Client(clientConfig(sandbox));
});

afterEach(async () => {
  route53.destroy();
  await sandbox.close();
});

const change = (changes: Change[]) =>
  route53.send(
    new ChangeResourceRecordSetsCommand({ HostedZoneId: ZONE, ChangeBatch: { Changes: changes } }),
  );

function txt(name: string, values: string[], action: Change["Action"] = "CREATE"): Change {
  return {
    Action: action,
    ResourceRecordSet: {
      Name: name,
      Type: "TXT",
      TTL: 300,
      ResourceRecords: values.map((Value) => ({ Value })),
    },
  };
}

describe("ChangeResourceRecordSets: alias targets", () => {
  // Recorded: https://github.com/aws/aws-cdk/issues/19643 and https://github.com/GSA-TTS/dns/pull/588
  // ("Tried to create an alias that targets X, type A in zone Z, but the alias target name does not lie within the target zone").
  it("refuses an ELB-zone alias whose name is not a load balancer of that zone", async () => {
    const error = await rejectionOf(
      change([
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "www.example.com.",
            Type: "A",
            AliasTarget: {
              HostedZoneId: "Z35SXDOTRQ7X7K",
              DNSName: "example.org.",
              EvaluateTargetHealth: false,
            },
          },
        },
      ]),
    );
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toBe(
      "[Tried to create an alias that targets example.org., type A in zone Z35SXDOTRQ7X7K, but the alias target name does not lie within the target zone]",
    );
  });

  // The us-east-1 ELB zone holds <name>.us-east-1.elb.amazonaws.com only: https://docs.aws.amazon.com/general/latest/gr/elb.html
  it("refuses a load balancer of another region under the us-east-1 ELB zone, and accepts its own", async () => {
    const alias = (DNSName: string): Change => ({
      Action: "CREATE",
      ResourceRecordSet: {
        Name: "lb.example.com.",
        Type: "A",
        AliasTarget: { HostedZoneId: "Z35SXDOTRQ7X7K", DNSName, EvaluateTargetHealth: false },
      },
    });
    const error = await rejectionOf(change([alias("my-alb-1.eu-west-1.elb.amazonaws.com")]));
    expect(error.message).toContain("does not lie within the target zone");
    await change([alias("internal-my-alb-1.us-east-1.elb.amazonaws.com")]);
  });
});

describe("ChangeResourceRecordSets: weighted records share one TTL", () => {
  // Recorded: https://github.com/aws/aws-sdk-go-v2/issues/518
  // ("RRSet with DNS name <name> and type A, SetIdentifier <id> cannot be created as weighted sets must contain the same TTL.")
  const weighted = (id: string, ttl: number, action: Change["Action"] = "CREATE"): Change => ({
    Action: action,
    ResourceRecordSet: {
      Name: "w.example.com.",
      Type: "A",
      SetIdentifier: id,
      Weight: 1,
      TTL: ttl,
      ResourceRecords: [{ Value: "192.0.2.1" }],
    },
  });

  it("refuses a weighted record whose TTL differs from the rest of its group", async () => {
    await change([weighted("a", 60)]);
    const error = await rejectionOf(change([weighted("b", 300)]));
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toBe(
      "[RRSet with DNS name w.example.com. and type A, SetIdentifier b cannot be created as weighted sets must contain the same TTL.]",
    );
  });

  it("compares TTLs only between records that have one: a weighted alias may join the group", async () => {
    await change([weighted("a", 60)]);
    await change([
      {
        Action: "CREATE",
        ResourceRecordSet: {
          Name: "w.example.com.",
          Type: "A",
          SetIdentifier: "alias",
          Weight: 1,
          AliasTarget: {
            HostedZoneId: "Z35SXDOTRQ7X7K",
            DNSName: "my-alb-1.us-east-1.elb.amazonaws.com.",
            EvaluateTargetHealth: false,
          },
        },
      },
    ]);
    const error = await rejectionOf(change([weighted("b", 120)]));
    expect(error.message).toContain("weighted sets must contain the same TTL");
  });

  it("accepts one batch that moves the whole group to a new TTL", async () => {
    await change([weighted("a", 60), weighted("b", 60)]);
    await change([weighted("a", 300, "UPSERT"), weighted("b", 300, "UPSERT")]);
    const listed = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: ZONE,
        StartRecordName: "w.example.com.",
        StartRecordType: "A",
      }),
    );
    expect(
      listed.ResourceRecordSets?.filter((record) => record.Name === "w.example.com.").map(
        (record) => record.TTL,
      ),
    ).toEqual([300, 300]);
  });
});

describe("ChangeResourceRecordSets: weighted records per name and type", () => {
  // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/TutorialManagingOver100WRR.html: up to 100 weighted
  // records per name and type; recorded wording "Exceeded limit on number of weighted RRSets for <name>, type <type> in
  // this zone." in https://github.com/airbnb/zonify/issues/16.
  const weightedTxt = (index: number): Change => ({
    Action: "CREATE",
    ResourceRecordSet: {
      Name: "many.example.com.",
      Type: "TXT",
      SetIdentifier: `s${index}`,
      Weight: 1,
      TTL: 60,
      ResourceRecords: [{ Value: `"${index}"` }],
    },
  });

  it("accepts 100 weighted records of one name and type and refuses the 101st", async () => {
    await change(Array.from({ length: 100 }, (_, index) => weightedTxt(index)));
    const error = await rejectionOf(change([weightedTxt(100)]));
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toBe(
      "[Exceeded limit on number of weighted RRSets for many.example.com., type TXT in this zone.]",
    );
  });
});

describe("ChangeResourceRecordSets: request limits", () => {
  // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html ("Limits"): at most
  // 1,000 ResourceRecord elements, each counted twice for UPSERT; recorded wording "[Number of records limit of 1000 exceeded.]"
  // in https://github.com/DNSControl/dnscontrol/issues/1114.
  const manyValues = (count: number) => Array.from({ length: count }, (_, index) => `"v${index}"`);

  it("accepts 1,000 ResourceRecords created, and refuses 501 upserted (counted twice)", async () => {
    await change([txt("a.example.com.", manyValues(400)), txt("b.example.com.", manyValues(600))]);
    const error = await rejectionOf(change([txt("c.example.com.", manyValues(501), "UPSERT")]));
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toBe("[Number of records limit of 1000 exceeded.]");
    await change([txt("c.example.com.", manyValues(500), "UPSERT")]);
  });

  it("refuses 1,001 ResourceRecords in one request", async () => {
    const error = await rejectionOf(
      change([txt("a.example.com.", manyValues(500)), txt("b.example.com.", manyValues(501))]),
    );
    expect(error.message).toBe("[Number of records limit of 1000 exceeded.]");
  });

  // Same page: the Value characters of a request may not exceed 32,000, counted twice for UPSERT; recorded wording
  // "[RDATA character limit of 32000 exceeded.]" in https://github.com/DNSControl/dnscontrol/issues/908.
  it("refuses more than 32,000 Value characters, counting an UPSERT's twice", async () => {
    const long = (count: number) => Array.from({ length: count }, () => `"${"x".repeat(198)}"`);
    await change([txt("a.example.com.", long(160))]);
    const error = await rejectionOf(change([txt("b.example.com.", long(81), "UPSERT")]));
    expect(error).toBeInstanceOf(InvalidChangeBatch);
    expect(error.message).toBe("[RDATA character limit of 32000 exceeded.]");
  });
});
