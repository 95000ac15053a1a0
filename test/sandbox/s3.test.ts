import { createHash } from "node:crypto";
import { request } from "node:http";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { bucketNameProblem } from "../../sandbox/s3.js";
import { checksumOf, crc32c, crc64nvme } from "../../sandbox/s3-checksums.js";
import {
  clientConfig,
  referenceSeed,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";

const BUCKET = "cutover-checkpoints-test";

let sandbox: Sandbox;
let s3: S3Client;

beforeEach(async () => {
  sandbox = await startTestSandbox(referenceSeed());
  s3 = new S3Client(clientConfig(sandbox));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterEach(async () => {
  s3.destroy();
  await sandbox.close();
});

async function s3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(S3ServiceException);
  return error as S3ServiceException;
}

async function text(bucket: string, key: string, versionId?: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return (await got.Body?.transformToString()) ?? "";
}

/** A raw signed-looking request, for what the SDK itself would never send wrong. */
async function raw(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${sandbox.endpoint}${path}`, {
    method,
    headers: {
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIASANDBOX000000000/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, body: await response.text() };
}

describe("buckets", () => {
  it("addresses the IP endpoint path-style without forcePathStyle, and answers HeadBucket with the region", async () => {
    const head = await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(head.BucketRegion).toBe("us-east-1");
    expect(sandbox.state().s3).toMatchObject({ buckets: [{ name: BUCKET }] });
  });

  it("refuses bad bucket names with InvalidBucketName and unknown buckets with NoSuchBucket", async () => {
    for (const name of [
      "ab",
      "Upper-Case",
      "double..dot",
      "192.168.1.1",
      "xn--punycode",
      "ends-",
      "x".repeat(64),
    ]) {
      const error = await s3Error(s3.send(new CreateBucketCommand({ Bucket: name })));
      expect(error.name, name).toBe("InvalidBucketName");
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
    expect(bucketNameProblem("my.bucket-1")).toBeUndefined();
    const missing = await s3Error(s3.send(new GetObjectCommand({ Bucket: "no-such-bucket", Key: "k" })));
    expect(missing.name).toBe("NoSuchBucket");
    expect(missing.$metadata.httpStatusCode).toBe(404);
    const head = await s3Error(s3.send(new HeadBucketCommand({ Bucket: "no-such-bucket" })));
    expect(head.$metadata.httpStatusCode).toBe(404);
  });

  it("answers the S3 error document with Code, Message, Resource and RequestId", async () => {
    const answer = await raw("GET", `/${BUCKET}/missing.json`, {});
    expect(answer.status).toBe(404);
    expect(answer.body).toMatch(
      /<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist.<\/Message><Key>missing.json<\/Key><Resource>\/cutover-checkpoints-test\/missing.json<\/Resource><RequestId>[0-9a-f-]{36}<\/RequestId><\/Error>/,
    );
  });

  it("re-creating an owned bucket is 200 in us-east-1 and BucketAlreadyOwnedByYou elsewhere", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const other = await startSandbox({ seed: { ...referenceSeed(), region: "eu-west-1" }, port: 0 });
    const client = new S3Client({ ...clientConfig(other), region: "eu-west-1" });
    try {
      const config = { CreateBucketConfiguration: { LocationConstraint: "eu-west-1" as const } };
      const elsewhere = await s3Error(
        client.send(
          new CreateBucketCommand({
            Bucket: "eu-bucket",
            CreateBucketConfiguration: { LocationConstraint: "us-west-2" },
          }),
        ),
      );
      expect(elsewhere.name).toBe("IllegalLocationConstraintException");
      await client.send(new CreateBucketCommand({ Bucket: "eu-bucket", ...config }));
      const again = await s3Error(client.send(new CreateBucketCommand({ Bucket: "eu-bucket", ...config })));
      expect(again.name).toBe("BucketAlreadyOwnedByYou");
      expect(again.$metadata.httpStatusCode).toBe(409);
    } finally {
      client.destroy();
      await other.close();
    }
  });

  it("turns versioning on and reads it back; a status S3 does not know is MalformedXML", async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).toBeUndefined();
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
    );
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).toBe("Enabled");
    const bad = await s3Error(
      s3.send(
        new PutBucketVersioningCommand({
          Bucket: BUCKET,
          VersioningConfiguration: { Status: "On" as "Enabled" },
        }),
      ),
    );
    expect(bad.name).toBe("MalformedXML");
  });
});

describe("objects", () => {
  it("puts and gets an object: quoted MD5 ETag, the SDK's CRC32 verified and returned, metadata, ranges", async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "checkpoints/orders.json",
        Body: '{"weights":[90,10]}',
        ContentType: "application/json",
        Metadata: { migration: "orders" },
      }),
    );
    expect(put.ETag).toBe(`"${createHash("md5").update('{"weights":[90,10]}').digest("hex")}"`);
    expect(put.ChecksumCRC32).toBe(checksumOf("crc32", Buffer.from('{"weights":[90,10]}')));
    expect(put.VersionId).toBeUndefined();
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "checkpoints/orders.json" }));
    expect(got.ContentType).toBe("application/json");
    expect(got.Metadata).toEqual({ migration: "orders" });
    expect(got.ETag).toBe(put.ETag);
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(await got.Body?.transformToString()).toBe('{"weights":[90,10]}');
    const range = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "checkpoints/orders.json", Range: "bytes=1-9" }),
    );
    expect(range.$metadata.httpStatusCode).toBe(206);
    expect(range.ContentRange).toBe("bytes 1-9/19");
    expect(await range.Body?.transformToString()).toBe('"weights"');
    const beyond = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "checkpoints/orders.json", Range: "bytes=100-" })),
    );
    expect(beyond.name).toBe("InvalidRange");
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "checkpoints/orders.json" }));
    expect(head.ContentLength).toBe(19);
    const missing = await s3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "nope" })));
    expect(missing.$metadata.httpStatusCode).toBe(404);
    const noKey = await s3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "nope" })));
    expect(noKey.name).toBe("NoSuchKey");
  });

  it("refuses a Content-MD5 or a checksum that does not match the body, and a malformed one", async () => {
    const md5 = await s3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: "k",
          Body: "hello",
          ContentMD5: "XUFAKrxLKna5cZ2REBfFkA==",
        }),
      ),
    );
    expect(md5.name).toBe("BadDigest");
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "k",
        Body: "hello",
        ContentMD5: "XUFAKrxLKna5cZ2REBfFkg==",
      }),
    );
    const invalid = await s3Error(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k", Body: "hello", ContentMD5: "bm90LW1kNQ==" })),
    );
    expect(invalid.name).toBe("InvalidDigest");
    const crc = await s3Error(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k", Body: "hello", ChecksumCRC32: "AAAAAA==" })),
    );
    expect(crc.name).toBe("BadDigest");
    expect(crc.message).toBe("The CRC32 you specified did not match the calculated checksum.");
    const sha = checksumOf("sha256", Buffer.from("hello"));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k", Body: "hello", ChecksumSHA256: sha }));
    const tampered = await raw("PUT", `/${BUCKET}/k`, { "x-amz-content-sha256": "0".repeat(64) }, "hello");
    expect(tampered.status).toBe(400);
    expect(tampered.body).toContain("<Code>XAmzContentSHA256Mismatch</Code>");
    const twoChecksums = await raw(
      "PUT",
      `/${BUCKET}/k`,
      {
        "x-amz-checksum-crc32": checksumOf("crc32", Buffer.from("hello")),
        "x-amz-checksum-sha1": checksumOf("sha1", Buffer.from("hello")),
      },
      "hello",
    );
    expect(twoChecksums.body).toContain("<Code>InvalidRequest</Code>");
  });

  it("answers an injected fault in S3's error shape", async () => {
    sandbox.faults.add({ service: "s3", operation: "PutObject", error: "SlowDown", count: 1 });
    const error = await s3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k", Body: "x" })));
    expect(error.name).toBe("SlowDown");
    expect(error.$metadata.httpStatusCode).toBe(503);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k", Body: "x" }));
  });

  it("computes the checksum algorithms' check values", () => {
    const check = Buffer.from("123456789");
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc64nvme(check)).toBe(0xae8b14860a799888n);
  });

  it("lists with prefix, delimiter and continuation, every page through the SDK's paginator", async () => {
    for (const key of ["a/1", "a/2", "b/1", "b/2/x", "c", "d"])
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const top = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: "/" }));
    expect(top.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(["a/", "b/"]);
    expect(top.Contents?.map((object) => object.Key)).toEqual(["c", "d"]);
    const underB = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "b/", Delimiter: "/" }));
    expect(underB.Contents?.map((object) => object.Key)).toEqual(["b/1"]);
    expect(underB.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(["b/2/"]);
    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 2 },
      { Bucket: BUCKET, Delimiter: "/" },
    ))
      pages.push([
        ...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix ?? ""),
        ...(page.Contents ?? []).map((object) => object.Key ?? ""),
      ]);
    expect(pages).toEqual([
      ["a/", "b/"],
      ["c", "d"],
    ]);
    const bad = await s3Error(
      s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: "garbage" })),
    );
    expect(bad.name).toBe("InvalidArgument");
  });
});

describe("versioning", () => {
  beforeEach(() =>
    s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
    ),
  );

  it("gives each put a version id, reads old versions, puts a delete marker on delete and lists it all", async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "journal.json", Body: "one" }));
    const second = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "journal.json", Body: "two" }));
    expect(first.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(second.VersionId).not.toBe(first.VersionId);
    expect(await text(BUCKET, "journal.json")).toBe("two");
    expect(await text(BUCKET, "journal.json", first.VersionId)).toBe("one");
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "journal.json" }));
    expect(deleted.DeleteMarker).toBe(true);
    const gone = await s3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "journal.json" })));
    expect(gone.name).toBe("NoSuchKey");
    const marker = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "journal.json", VersionId: deleted.VersionId })),
    );
    expect(marker.$metadata.httpStatusCode).toBe(405);
    const unknown = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "journal.json", VersionId: "A".repeat(32) })),
    );
    expect(unknown.name).toBe("NoSuchVersion");
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount).toBe(0);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
    expect(versions.DeleteMarkers?.map((entry) => [entry.VersionId, entry.IsLatest])).toEqual([
      [deleted.VersionId, true],
    ]);
    expect(versions.Versions?.map((entry) => [entry.VersionId, entry.IsLatest])).toEqual([
      [second.VersionId, false],
      [first.VersionId, false],
    ]);
    const paged = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, MaxKeys: 2 }));
    expect(paged.IsTruncated).toBe(true);
    const rest = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: BUCKET,
        KeyMarker: paged.NextKeyMarker,
        VersionIdMarker: paged.NextVersionIdMarker,
      }),
    );
    expect(rest.Versions?.map((entry) => entry.VersionId)).toEqual([first.VersionId]);
    // Deleting the marker by version id brings the object back.
    await s3.send(
      new DeleteObjectCommand({ Bucket: BUCKET, Key: "journal.json", VersionId: deleted.VersionId }),
    );
    expect(await text(BUCKET, "journal.json")).toBe("two");
  });
});

describe("conditional requests", () => {
  it("If-None-Match: * writes once and answers 412 PreconditionFailed once the key exists", async () => {
    const put = () =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "journal/e1.json", Body: "x", IfNoneMatch: "*" }));
    await put();
    const again = await s3Error(put());
    expect(again.name).toBe("PreconditionFailed");
    expect(again.$metadata.httpStatusCode).toBe(412);
  });

  it("If-Match writes only over the ETag read: 412 on another ETag, 404 NoSuchKey when absent", async () => {
    const absent = await s3Error(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "checkpoint.json", Body: "x", IfMatch: '"abc"' })),
    );
    expect(absent.name).toBe("NoSuchKey");
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "checkpoint.json", Body: "v1" }));
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "checkpoint.json", Body: "v2", IfMatch: first.ETag }),
    );
    const stale = await s3Error(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: "checkpoint.json", Body: "v3", IfMatch: first.ETag }),
      ),
    );
    expect(stale.name).toBe("PreconditionFailed");
    expect(await text(BUCKET, "checkpoint.json")).toBe("v2");
  });

  it("of two writers racing with If-Match on the same ETag, exactly one wins", async () => {
    const base = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "lock.json", Body: "base" }));
    const writers = ["left", "right"].map((body) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "lock.json", Body: body, IfMatch: base.ETag })),
    );
    const outcomes = await Promise.allSettled(writers);
    const won = outcomes.filter((outcome) => outcome.status === "fulfilled");
    const lost = outcomes.filter(
      (outcome): outcome is PromiseRejectedResult => outcome.status === "rejected",
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost.map((outcome) => (outcome.reason as Error).name)).toEqual(["PreconditionFailed"]);
    const winner = outcomes[0]?.status === "fulfilled" ? "left" : "right";
    expect(await text(BUCKET, "lock.json")).toBe(winner);
  });

  it("a delete that lands while a conditional write is still uploading makes the write answer 409 ConditionalRequestConflict", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "racing.json", Body: "old" }));
    const { port } = new URL(sandbox.endpoint);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "PUT",
          path: `/${BUCKET}/racing.json`,
          headers: {
            authorization:
              "AWS4-HMAC-SHA256 Credential=AKIASANDBOX000000000/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
            "if-none-match": "*",
            "content-length": 6,
            expect: "100-continue",
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      // 100-continue tells the client the server has the headers: from then on the write is in flight.
      req.on("continue", () => {
        req.write("new");
        s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "racing.json" }))
          .then(() => req.end("new"))
          .catch(reject);
      });
      req.flushHeaders();
    });
    const { status, body } = await answer;
    expect(status).toBe(409);
    expect(body).toContain("<Code>ConditionalRequestConflict</Code>");
    // Retried once the delete is done, the same write succeeds.
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "racing.json", Body: "newnew", IfNoneMatch: "*" }),
    );
  });

  it("conditional DELETE: If-Match 412 on another ETag, 404 when absent, deletes on the ETag read", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "d.json", Body: "x" }));
    const stale = await s3Error(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "d.json", IfMatch: '"0"' })),
    );
    expect(stale.$metadata.httpStatusCode).toBe(412);
    const absent = await s3Error(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "none", IfMatch: put.ETag })),
    );
    expect(absent.name).toBe("NoSuchKey");
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "d.json", IfMatch: put.ETag }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount).toBe(0);
  });

  it("conditional GET: If-Match 412, If-None-Match 304, If-Modified-Since 304", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "c.json", Body: "x" }));
    const mismatch = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "c.json", IfMatch: '"0"' })),
    );
    expect(mismatch.$metadata.httpStatusCode).toBe(412);
    const same = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "c.json", IfNoneMatch: put.ETag })),
    );
    expect(same.$metadata.httpStatusCode).toBe(304);
    const later = await s3Error(
      s3.send(
        new GetObjectCommand({
          Bucket: BUCKET,
          Key: "c.json",
          IfModifiedSince: new Date(Date.now() + 60_000),
        }),
      ),
    );
    expect(later.$metadata.httpStatusCode).toBe(304);
    const earlier = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: "c.json", IfModifiedSince: new Date(Date.now() - 60_000) }),
    );
    expect(await earlier.Body?.transformToString()).toBe("x");
  });
});
