/**
 * S3 on its REST-XML wire protocol, path-style on the sandbox endpoint
 * (`http://127.0.0.1:<port>/<bucket>/<key>`, which the SDK uses on its own
 * for an IP endpoint). Requests are told from Route 53's and Lambda's REST
 * paths by the SigV4 signing name "s3". Buckets with versioning, objects
 * with their checksums verified on upload, conditional writes and reads,
 * and both listings. A request's body is read whole before it is applied,
 * and each is applied at once, so of two conditional writers racing on the
 * same key the first to finish wins and the other gets 412, as S3 documents;
 * a delete that succeeds while a conditional write is still uploading makes
 * that write answer 409 ConditionalRequestConflict.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  buildXmlIn,
  childText,
  parseXml,
  requestIdOf,
  ServiceError,
  sendServiceError,
  signingServiceOf,
  type XmlChild,
  XmlSyntaxError,
} from "./protocol.js";
import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_BYTES,
  CHECKSUM_NAMES,
  type ChecksumAlgorithm,
  checksumOf,
  md5Base64,
  md5Hex,
} from "./s3-checksums.js";
import type { ServiceHandler } from "./types.js";

export interface S3Options {
  region: string;
  now?: () => number;
}

const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
const OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
const MAX_KEY_BYTES = 1024;
const MAX_KEYS = 1000;

type VersioningStatus = "Enabled" | "Suspended";

/** One version of a key: an object or a delete marker. */
interface ObjectVersion {
  key: string;
  /** "null" for what was written while versioning was never enabled or is suspended. */
  versionId: string;
  deleteMarker: boolean;
  body: Buffer;
  etag: string;
  lastModified: number;
  contentType: string;
  metadata: Record<string, string>;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

interface Bucket {
  name: string;
  created: number;
  versioning?: VersioningStatus;
  /** Versions of each key, oldest first; the last is the current one. */
  keys: Map<string, ObjectVersion[]>;
}

interface Route {
  operation: string;
  bucket?: string;
  key?: string;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** The sandbox's S3: buckets, versions, conditional writes. */
export class S3Service implements ServiceHandler {
  readonly name = "s3";
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  /** Conditional writes whose body is still arriving, by "bucket/key"; `conflicted` once a delete of the key succeeded meanwhile. */
  private readonly inFlight = new Map<string, Set<{ conflicted: boolean }>>();
  private readonly inFlightOf = new WeakMap<IncomingMessage, { conflicted: boolean }>();

  constructor(private readonly options: S3Options) {
    this.now = options.now ?? Date.now;
  }

  matches(req: IncomingMessage): boolean {
    return signingServiceOf(req) === "s3";
  }

  operationOf(req: IncomingMessage): string | undefined {
    return routeOf(req)?.operation;
  }

  /** Notes a conditional PutObject as in flight from the moment its headers arrive until it is answered. */
  requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const route = routeOf(req);
    if (route?.operation !== "PutObject") return;
    if (header(req, "if-match") === undefined && header(req, "if-none-match") === undefined) return;
    const slot = `${route.bucket}/${route.key}`;
    const entry = { conflicted: false };
    const entries = this.inFlight.get(slot) ?? new Set();
    entries.add(entry);
    this.inFlight.set(slot, entries);
    this.inFlightOf.set(req, entry);
    res.once("close", () => {
      entries.delete(entry);
      if (entries.size === 0 && this.inFlight.get(slot) === entries) this.inFlight.delete(slot);
    });
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    try {
      const route = routeOf(req);
      if (!route)
        throw new ServiceError(
          "NotImplemented",
          `The sandbox's S3 does not serve ${req.method} ${req.url}. See docs/sandbox.md for the operations it implements.`,
          501,
        );
      const query = new URL(req.url ?? "/", "http://localhost").searchParams;
      const answer = this.dispatch(route, req, body, query);
      const payload = answer.body ?? "";
      res.writeHead(answer.status, {
        "x-amz-request-id": requestIdOf(req),
        "content-length":
          req.method === "HEAD" ? (answer.headers?.["content-length"] ?? "0") : Buffer.byteLength(payload),
        ...answer.headers,
      });
      res.end(req.method === "HEAD" ? undefined : payload);
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError("InternalError", `The sandbox's S3 failed: ${(error as Error).message}`, 500);
      sendServiceError(req, res, "rest-xml-s3", serviceError);
    }
  }

  /** State for GET /_sandbox/state. */
  snapshot(): Record<string, unknown> {
    return {
      buckets: [...this.buckets.values()].map((bucket) => ({
        name: bucket.name,
        versioning: bucket.versioning ?? "Unversioned",
        objects: [...bucket.keys.values()].flatMap((versions) =>
          versions.map((version) => ({
            key: version.key,
            versionId: version.versionId,
            deleteMarker: version.deleteMarker,
            size: version.body.length,
            etag: version.etag,
          })),
        ),
      })),
    };
  }

  // ------------------------------------------------------------ dispatch

  private dispatch(route: Route, req: IncomingMessage, body: Buffer, query: URLSearchParams): Answer {
    if (route.operation === "ListBuckets") return this.listBuckets();
    const name = route.bucket ?? "";
    if (route.operation === "CreateBucket") return this.createBucket(name, body);
    const bucket = this.bucketOf(name);
    const key = route.key ?? "";
    switch (route.operation) {
      case "HeadBucket":
        return { status: 200, headers: { "x-amz-bucket-region": this.options.region } };
      case "DeleteBucket":
        return this.deleteBucket(bucket);
      case "PutBucketVersioning":
        return this.putBucketVersioning(bucket, req, body);
      case "GetBucketVersioning":
        return xmlAnswer(
          "VersioningConfiguration",
          bucket.versioning === undefined ? [] : [["Status", bucket.versioning]],
        );
      case "ListObjectsV2":
        return this.listObjectsV2(bucket, query);
      case "ListObjectVersions":
        return this.listObjectVersions(bucket, query);
      case "PutObject":
        return this.putObject(bucket, key, req, body);
      case "GetObject":
      case "HeadObject":
        return this.getObject(bucket, key, req, query);
      case "DeleteObject": {
        const answer = this.deleteObject(bucket, key, req, query);
        // A delete that lands while a conditional write of the key is still uploading makes that write conflict.
        for (const entry of this.inFlight.get(`${bucket.name}/${key}`) ?? []) entry.conflicted = true;
        return answer;
      }
      default:
        throw new ServiceError("NotImplemented", `The sandbox's S3 does not serve ${route.operation}.`, 501);
    }
  }

  // ------------------------------------------------------------ buckets

  private listBuckets(): Answer {
    return xmlAnswer("ListAllMyBucketsResult", [
      ["Owner", [["ID", OWNER_ID]]],
      [
        "Buckets",
        [...this.buckets.values()].map(
          (bucket): XmlChild => [
            "Bucket",
            [
              ["Name", bucket.name],
              ["CreationDate", new Date(bucket.created).toISOString()],
            ],
          ],
        ),
      ],
    ]);
  }

  private createBucket(name: string, body: Buffer): Answer {
    const problem = bucketNameProblem(name);
    if (problem)
      throw new ServiceError("InvalidBucketName", `The specified bucket is not valid. ${problem}`, 400, {
        BucketName: name,
      });
    const constraint = readLocationConstraint(body);
    const region = this.options.region;
    // us-east-1 takes no LocationConstraint; every other region wants its own name there.
    if (region === "us-east-1" ? constraint !== undefined : constraint !== region) {
      if (region === "us-east-1" && constraint === "us-east-1")
        throw new ServiceError(
          "InvalidLocationConstraint",
          "The specified location-constraint is not valid",
          400,
          {
            LocationConstraint: constraint,
          },
        );
      throw new ServiceError(
        "IllegalLocationConstraintException",
        constraint === undefined
          ? "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
          : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
        400,
      );
    }
    if (this.buckets.has(name)) {
      // For legacy compatibility us-east-1 answers 200 to re-creating a bucket its owner already has.
      if (region === "us-east-1") return { status: 200, headers: { location: `/${name}` } };
      throw new ServiceError(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        409,
        { BucketName: name },
      );
    }
    this.buckets.set(name, { name, created: this.now(), keys: new Map() });
    return { status: 200, headers: { location: `/${name}` } };
  }

  private deleteBucket(bucket: Bucket): Answer {
    if (bucket.keys.size > 0)
      throw new ServiceError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, {
        BucketName: bucket.name,
      });
    this.buckets.delete(bucket.name);
    return { status: 204 };
  }

  private putBucketVersioning(bucket: Bucket, req: IncomingMessage, body: Buffer): Answer {
    verifyPayload(req, body, true);
    let status: string | undefined;
    try {
      const root = parseXml(body.toString("utf8"));
      if (root.name !== "VersioningConfiguration") throw new XmlSyntaxError("unexpected root");
      status = childText(root, "Status");
    } catch (error) {
      if (!(error instanceof XmlSyntaxError)) throw error;
      throw malformedXml();
    }
    if (status === undefined) return { status: 200 };
    if (status !== "Enabled" && status !== "Suspended") throw malformedXml();
    bucket.versioning = status;
    return { status: 200 };
  }

  // ------------------------------------------------------------ objects

  private putObject(bucket: Bucket, key: string, req: IncomingMessage, body: Buffer): Answer {
    checkKey(key);
    if (req.headers["x-amz-copy-source"] !== undefined)
      throw new ServiceError("NotImplemented", "The sandbox's S3 does not serve CopyObject.", 501);
    const checksum = verifyPayload(req, body, false);
    if (this.inFlightOf.get(req)?.conflicted)
      throw new ServiceError(
        "ConditionalRequestConflict",
        "A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.",
        409,
        { Key: key },
      );
    const current = this.current(bucket, key);
    const live = current && !current.deleteMarker ? current : undefined;
    const ifMatch = header(req, "if-match");
    const ifNoneMatch = header(req, "if-none-match");
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch !== "*")
        throw new ServiceError(
          "NotImplemented",
          "A header you provided implies functionality that is not implemented",
          501,
          { Header: "If-None-Match" },
        );
      if (live) throw preconditionFailed("If-None-Match");
    }
    if (ifMatch !== undefined) {
      if (!live) throw noSuchKey(key);
      if (!etagMatches(ifMatch, live.etag)) throw preconditionFailed("If-Match");
    }
    const version: ObjectVersion = {
      key,
      versionId: bucket.versioning === "Enabled" ? newVersionId() : "null",
      deleteMarker: false,
      body,
      etag: `"${md5Hex(body)}"`,
      lastModified: this.now(),
      contentType: header(req, "content-type") ?? "binary/octet-stream",
      metadata: metadataOf(req),
      ...(checksum ? { checksum } : {}),
    };
    this.append(bucket, version);
    return {
      status: 200,
      headers: {
        etag: version.etag,
        ...this.versionHeader(bucket, version),
        ...(checksum ? { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value } : {}),
      },
    };
  }

  private getObject(bucket: Bucket, key: string, req: IncomingMessage, query: URLSearchParams): Answer {
    const versionId = query.get("versionId");
    const version = versionId === null ? this.current(bucket, key) : this.versionOf(bucket, key, versionId);
    if (!version) throw noSuchKey(key);
    if (version.deleteMarker) {
      const headers = { "x-amz-delete-marker": "true", "x-amz-version-id": version.versionId };
      if (versionId === null) throw noSuchKey(key, headers);
      throw new ServiceError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        405,
        { Method: req.method ?? "GET", ResourceType: "DeleteMarker" },
        headers,
      );
    }
    const notModified = readPreconditions(req, version);
    const headers: Record<string, string> = {
      etag: version.etag,
      "last-modified": new Date(version.lastModified).toUTCString(),
      ...this.versionHeader(bucket, version),
    };
    if (notModified) return { status: 304, headers };
    const range = parseRange(header(req, "range"), version.body.length);
    const content = range ? version.body.subarray(range.start, range.end + 1) : version.body;
    Object.assign(headers, {
      "content-type": version.contentType,
      "accept-ranges": "bytes",
      "content-length": String(content.length),
      ...Object.fromEntries(
        Object.entries(version.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value]),
      ),
    });
    if (range) headers["content-range"] = `bytes ${range.start}-${range.end}/${version.body.length}`;
    // The whole object's checksum only: S3 does not return it for a range.
    if (!range && version.checksum && header(req, "x-amz-checksum-mode") === "ENABLED")
      headers[`x-amz-checksum-${version.checksum.algorithm}`] = version.checksum.value;
    return { status: range ? 206 : 200, headers, body: content };
  }

  private deleteObject(bucket: Bucket, key: string, req: IncomingMessage, query: URLSearchParams): Answer {
    checkKey(key);
    const versionId = query.get("versionId");
    const versions = bucket.keys.get(key) ?? [];
    const ifMatch = header(req, "if-match");
    if (ifMatch !== undefined) {
      // A conditional delete needs the object it names to be there with that ETag.
      const target =
        versionId === null ? versions.at(-1) : versions.find((version) => version.versionId === versionId);
      if (!target || target.deleteMarker) throw noSuchKey(key);
      if (!etagMatches(ifMatch, target.etag)) throw preconditionFailed("If-Match");
    }
    if (versionId !== null) {
      const index = versions.findIndex((version) => version.versionId === versionId);
      if (index < 0) {
        if (versionId !== "null" && !/^[A-Za-z0-9._-]{32}$/.test(versionId))
          throw new ServiceError("InvalidArgument", "Invalid version id specified", 400, {
            ArgumentName: "versionId",
            ArgumentValue: versionId,
          });
        return { status: 204, headers: { "x-amz-version-id": versionId } };
      }
      const [removed] = versions.splice(index, 1);
      if (versions.length === 0) bucket.keys.delete(key);
      return {
        status: 204,
        headers: {
          "x-amz-version-id": versionId,
          ...(removed?.deleteMarker ? { "x-amz-delete-marker": "true" } : {}),
        },
      };
    }
    if (bucket.versioning === undefined) {
      bucket.keys.delete(key);
      return { status: 204 };
    }
    // Versioned (or suspended): the delete adds a marker as the current version; nothing is removed.
    const marker: ObjectVersion = {
      key,
      versionId: bucket.versioning === "Enabled" ? newVersionId() : "null",
      deleteMarker: true,
      body: Buffer.alloc(0),
      etag: "",
      lastModified: this.now(),
      contentType: "",
      metadata: {},
    };
    this.append(bucket, marker);
    return { status: 204, headers: { "x-amz-delete-marker": "true", "x-amz-version-id": marker.versionId } };
  }

  // ------------------------------------------------------------ listings

  private listObjectsV2(bucket: Bucket, query: URLSearchParams): Answer {
    const prefix = query.get("prefix") ?? "";
    const delimiter = query.get("delimiter") ?? "";
    const maxKeys = readMaxKeys(query.get("max-keys"));
    const token = query.get("continuation-token");
    const startAfter = query.get("start-after") ?? "";
    const url = query.get("encoding-type") === "url";
    const after = token === null ? startAfter : readToken(token);
    const entries: Array<{ key: string; version?: ObjectVersion }> = [];
    let truncated = false;
    for (const key of [...bucket.keys.keys()].sort()) {
      const current = this.current(bucket, key);
      if (!current || current.deleteMarker || !key.startsWith(prefix) || key <= after) continue;
      const common = commonPrefixOf(key, prefix, delimiter);
      if (common !== undefined && (common <= after || entries.at(-1)?.key === common)) continue;
      if (entries.length === maxKeys) {
        truncated = true;
        break;
      }
      entries.push(common === undefined ? { key, version: current } : { key: common });
    }
    const encode = (text: string) => (url ? encodeURIComponent(text) : text);
    const last = entries.at(-1);
    return xmlAnswer("ListBucketResult", [
      ["Name", bucket.name],
      ["Prefix", encode(prefix)],
      delimiter ? ["Delimiter", encode(delimiter)] : undefined,
      ["MaxKeys", maxKeys],
      ["KeyCount", entries.length],
      ["IsTruncated", truncated],
      url ? ["EncodingType", "url"] : undefined,
      token === null ? undefined : ["ContinuationToken", token],
      truncated && last ? ["NextContinuationToken", encodeToken(last.key)] : undefined,
      startAfter ? ["StartAfter", encode(startAfter)] : undefined,
      ...entries.map(
        (entry): XmlChild =>
          entry.version
            ? [
                "Contents",
                [
                  ["Key", encode(entry.key)],
                  ["LastModified", new Date(entry.version.lastModified).toISOString()],
                  ["ETag", entry.version.etag],
                  entry.version.checksum
                    ? ["ChecksumAlgorithm", CHECKSUM_NAMES[entry.version.checksum.algorithm]]
                    : undefined,
                  ["Size", entry.version.body.length],
                  ["StorageClass", "STANDARD"],
                ],
              ]
            : ["CommonPrefixes", [["Prefix", encode(entry.key)]]],
      ),
    ]);
  }

  private listObjectVersions(bucket: Bucket, query: URLSearchParams): Answer {
    const prefix = query.get("prefix") ?? "";
    const delimiter = query.get("delimiter") ?? "";
    const maxKeys = readMaxKeys(query.get("max-keys"));
    const keyMarker = query.get("key-marker") ?? "";
    const versionIdMarker = query.get("version-id-marker") ?? "";
    if (versionIdMarker && !keyMarker)
      throw new ServiceError(
        "InvalidArgument",
        "A version-id marker cannot be specified without a key marker.",
        400,
        { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker },
      );
    // Every entry in listing order (keys ascending, each key's versions newest first), then the page after the markers.
    const all: Array<{ key: string; versionId: string; entry: XmlChild }> = [];
    let lastPrefix: string | undefined;
    for (const key of [...bucket.keys.keys()].sort()) {
      if (!key.startsWith(prefix)) continue;
      const common = commonPrefixOf(key, prefix, delimiter);
      if (common !== undefined) {
        if (common !== lastPrefix)
          all.push({ key: common, versionId: "", entry: ["CommonPrefixes", [["Prefix", common]]] });
        lastPrefix = common;
        continue;
      }
      const newestFirst = [...(bucket.keys.get(key) ?? [])].reverse();
      for (const [index, version] of newestFirst.entries())
        all.push({ key, versionId: version.versionId, entry: this.versionEntry(version, index === 0) });
    }
    let from = 0;
    if (keyMarker) {
      const markerAt = versionIdMarker
        ? all.findIndex((item) => item.key === keyMarker && item.versionId === versionIdMarker)
        : -1;
      from =
        markerAt >= 0
          ? markerAt + 1
          : all.findIndex((item) => item.key > keyMarker && !keyMarker.startsWith(item.key));
      if (from < 0) from = all.length;
    }
    const page = all.slice(from, from + maxKeys);
    const truncated = from + maxKeys < all.length;
    const last = page.at(-1);
    const nextMarkers = truncated ? last : undefined;
    const items = page.map((item) => item.entry);
    return xmlAnswer("ListVersionsResult", [
      ["Name", bucket.name],
      ["Prefix", prefix],
      ["KeyMarker", keyMarker],
      ["VersionIdMarker", versionIdMarker],
      nextMarkers ? ["NextKeyMarker", nextMarkers.key] : undefined,
      nextMarkers?.versionId ? ["NextVersionIdMarker", nextMarkers.versionId] : undefined,
      ["MaxKeys", maxKeys],
      delimiter ? ["Delimiter", delimiter] : undefined,
      ["IsTruncated", truncated],
      ...items,
    ]);
  }

  private versionEntry(version: ObjectVersion, isLatest: boolean): XmlChild {
    const owner: XmlChild = ["Owner", [["ID", OWNER_ID]]];
    if (version.deleteMarker)
      return [
        "DeleteMarker",
        [
          ["Key", version.key],
          ["VersionId", version.versionId],
          ["IsLatest", isLatest],
          ["LastModified", new Date(version.lastModified).toISOString()],
          owner,
        ],
      ];
    return [
      "Version",
      [
        ["Key", version.key],
        ["VersionId", version.versionId],
        ["IsLatest", isLatest],
        ["LastModified", new Date(version.lastModified).toISOString()],
        ["ETag", version.etag],
        ["Size", version.body.length],
        ["StorageClass", "STANDARD"],
        owner,
      ],
    ];
  }

  // ------------------------------------------------------------ state helpers

  private bucketOf(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket)
      throw new ServiceError("NoSuchBucket", "The specified bucket does not exist", 404, {
        BucketName: name,
      });
    return bucket;
  }

  private current(bucket: Bucket, key: string): ObjectVersion | undefined {
    return bucket.keys.get(key)?.at(-1);
  }

  private versionOf(bucket: Bucket, key: string, versionId: string): ObjectVersion {
    const found = bucket.keys.get(key)?.find((version) => version.versionId === versionId);
    if (found) return found;
    if (versionId !== "null" && !/^[A-Za-z0-9._-]{32}$/.test(versionId))
      throw new ServiceError("InvalidArgument", "Invalid version id specified", 400, {
        ArgumentName: "versionId",
        ArgumentValue: versionId,
      });
    throw new ServiceError("NoSuchVersion", "The specified version does not exist.", 404, {
      Key: key,
      VersionId: versionId,
    });
  }

  /** Makes `version` current; a "null" version replaces the key's earlier "null" one, as S3 does. */
  private append(bucket: Bucket, version: ObjectVersion): void {
    const versions = bucket.keys.get(version.key) ?? [];
    const kept = version.versionId === "null" ? versions.filter((old) => old.versionId !== "null") : versions;
    kept.push(version);
    bucket.keys.set(version.key, kept);
  }

  /** x-amz-version-id is answered once a bucket has had versioning enabled, never before. */
  private versionHeader(bucket: Bucket, version: ObjectVersion): Record<string, string> {
    return bucket.versioning === undefined ? {} : { "x-amz-version-id": version.versionId };
  }
}

// ---------------------------------------------------------------- routing

function routeOf(req: IncomingMessage): Route | undefined {
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1));
  const method = req.method ?? "GET";
  if (path === "/" || path === "") return method === "GET" ? { operation: "ListBuckets" } : undefined;
  const slash = path.indexOf("/", 1);
  const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const rawKey = slash < 0 ? "" : path.slice(slash + 1);
  if (rawKey === "") {
    const operation = bucketOperation(method, query);
    return operation === undefined ? undefined : { operation, bucket };
  }
  const key = decodeURIComponent(rawKey);
  const subresources = [...query.keys()].filter((name) => !OBJECT_QUERY_PARAMETERS.has(name));
  if (subresources.length > 0) return undefined;
  const operation = OBJECT_OPERATIONS[method];
  return operation === undefined ? undefined : { operation, bucket, key };
}

/** Query parameters of the object operations served; any other names a subresource the sandbox does not serve. */
const OBJECT_QUERY_PARAMETERS = new Set(["x-id", "versionId"]);

const OBJECT_OPERATIONS: Record<string, string> = {
  PUT: "PutObject",
  GET: "GetObject",
  HEAD: "HeadObject",
  DELETE: "DeleteObject",
};

function bucketOperation(method: string, query: URLSearchParams): string | undefined {
  const names = [...query.keys()].filter((name) => name !== "x-id");
  if (method === "PUT") {
    if (names.length === 0) return "CreateBucket";
    return names.length === 1 && names[0] === "versioning" ? "PutBucketVersioning" : undefined;
  }
  if (method === "HEAD") return names.length === 0 ? "HeadBucket" : undefined;
  if (method === "DELETE") return names.length === 0 ? "DeleteBucket" : undefined;
  if (method !== "GET") return undefined;
  if (query.has("versioning")) return "GetBucketVersioning";
  if (query.has("versions")) return "ListObjectVersions";
  if (query.get("list-type") === "2") return "ListObjectsV2";
  return undefined;
}

// ---------------------------------------------------------------- request checks

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Verifies the payload hashes a request carries: x-amz-content-sha256, Content-MD5 and at most one
 * x-amz-checksum-* header. `digestRequired` is for operations whose model demands one (PutBucketVersioning).
 */
function verifyPayload(
  req: IncomingMessage,
  body: Buffer,
  digestRequired: boolean,
): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  const contentSha = header(req, "x-amz-content-sha256");
  if (contentSha?.startsWith("STREAMING-"))
    throw new ServiceError(
      "NotImplemented",
      `The sandbox's S3 does not accept aws-chunked uploads (x-amz-content-sha256: ${contentSha}); send a string or Buffer body.`,
      501,
    );
  if (contentSha !== undefined && contentSha !== "UNSIGNED-PAYLOAD") {
    const computed = checksumOf("sha256", body);
    if (Buffer.from(computed, "base64").toString("hex") !== contentSha)
      throw new ServiceError(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
        {
          ClientComputedContentSHA256: contentSha,
          S3ComputedContentSHA256: Buffer.from(computed, "base64").toString("hex"),
        },
      );
  }
  const md5 = header(req, "content-md5");
  if (md5 !== undefined) {
    if (Buffer.from(md5, "base64").length !== 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(md5))
      throw new ServiceError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400, {
        "Content-MD5": md5,
      });
    if (md5 !== md5Base64(body))
      throw new ServiceError(
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
        400,
        {
          ExpectedDigest: md5,
          CalculatedDigest: md5Base64(body),
        },
      );
  }
  const given = CHECKSUM_ALGORITHMS.filter(
    (algorithm) => header(req, `x-amz-checksum-${algorithm}`) !== undefined,
  );
  if (given.length > 1)
    throw new ServiceError(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
      400,
    );
  const algorithm = given[0];
  if (algorithm === undefined) {
    if (digestRequired && md5 === undefined)
      throw new ServiceError(
        "InvalidRequest",
        "Missing required header for this request: Content-MD5 or x-amz-checksum-*.",
        400,
      );
    return undefined;
  }
  const value = header(req, `x-amz-checksum-${algorithm}`) ?? "";
  const declared = header(req, "x-amz-sdk-checksum-algorithm");
  if (declared !== undefined && declared.toLowerCase() !== algorithm)
    throw new ServiceError(
      "InvalidRequest",
      `Value for x-amz-sdk-checksum-algorithm header is invalid: it names ${declared} but the request carries x-amz-checksum-${algorithm}.`,
      400,
    );
  if (
    !/^[A-Za-z0-9+/]+={0,2}$/.test(value) ||
    Buffer.from(value, "base64").length !== CHECKSUM_BYTES[algorithm]
  )
    throw new ServiceError("InvalidRequest", `Value for x-amz-checksum-${algorithm} header is invalid.`, 400);
  if (checksumOf(algorithm, body) !== value)
    throw new ServiceError(
      "BadDigest",
      `The ${CHECKSUM_NAMES[algorithm]} you specified did not match the calculated checksum.`,
      400,
    );
  return { algorithm, value };
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new ServiceError("KeyTooLongError", "Your key is too long", 400, {
      MaxSizeAllowed: MAX_KEY_BYTES,
      Size: Buffer.byteLength(key),
    });
}

function metadataOf(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name.slice(11)] = value;
  return metadata;
}

/**
 * The bucket naming rules for general purpose buckets, as S3 documents them; the reason a name
 * breaks one, undefined for a good name.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63)
    return `A bucket name must be 3 to 63 characters long; ${JSON.stringify(name)} has ${name.length}.`;
  if (!/^[a-z0-9.-]+$/.test(name))
    return "A bucket name may hold only lowercase letters, digits, dots and hyphens.";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return "A bucket name must begin and end with a letter or digit.";
  if (name.includes("..")) return "A bucket name must not hold two adjacent dots.";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "A bucket name must not look like an IP address.";
  for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"])
    if (name.startsWith(prefix)) return `A bucket name must not begin with ${prefix}.`;
  for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"])
    if (name.endsWith(suffix)) return `A bucket name must not end with ${suffix}.`;
  return undefined;
}

function readLocationConstraint(body: Buffer): string | undefined {
  const text = body.toString("utf8").trim();
  if (text === "") return undefined;
  try {
    const root = parseXml(text);
    if (root.name !== "CreateBucketConfiguration") throw malformedXml();
    const constraint = childText(root, "LocationConstraint");
    return constraint === "" ? undefined : constraint;
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw malformedXml();
    throw error;
  }
}

/** True when the conditional GET answers 304; throws PreconditionFailed when it answers 412 (RFC 7232 order). */
function readPreconditions(req: IncomingMessage, version: ObjectVersion): boolean {
  const ifMatch = header(req, "if-match");
  const ifNoneMatch = header(req, "if-none-match");
  const ifModifiedSince = dateHeader(req, "if-modified-since");
  const ifUnmodifiedSince = dateHeader(req, "if-unmodified-since");
  // HTTP dates have whole seconds; an object modified within the same second counts as not modified since.
  const modifiedSecond = Math.floor(version.lastModified / 1000) * 1000;
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, version.etag)) throw preconditionFailed("If-Match");
  } else if (ifUnmodifiedSince !== undefined && modifiedSecond > ifUnmodifiedSince)
    throw preconditionFailed("If-Unmodified-Since");
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, version.etag);
  return ifModifiedSince !== undefined && modifiedSecond <= ifModifiedSince;
}

function dateHeader(req: IncomingMessage, name: string): number | undefined {
  const value = header(req, name);
  if (value === undefined) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** An If-Match / If-None-Match list against an ETag; quotes are optional, "*" matches any. */
function etagMatches(condition: string, etag: string): boolean {
  const bare = etag.replace(/^"|"$/g, "");
  return condition
    .split(",")
    .map((item) => item.trim().replace(/^W\//, "").replace(/^"|"$/g, ""))
    .some((item) => item === "*" || item === bare);
}

function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  // A Range header S3 cannot read is ignored and the whole object served, as HTTP allows.
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) throw invalidRange(size);
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== "" && Number(match[2]) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

function readMaxKeys(raw: string | null): number {
  if (raw === null) return MAX_KEYS;
  if (!/^\d+$/.test(raw))
    throw new ServiceError(
      "InvalidArgument",
      "Provided max-keys not an integer or within integer range",
      400,
      {
        ArgumentName: "max-keys",
        ArgumentValue: raw,
      },
    );
  return Math.min(Number(raw), MAX_KEYS);
}

function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (!delimiter) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

function encodeToken(key: string): string {
  return Buffer.from(JSON.stringify({ after: key })).toString("base64");
}

function readToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { after?: unknown };
    if (typeof parsed.after === "string") return parsed.after;
  } catch {
    // Falls through to the error below.
  }
  throw new ServiceError("InvalidArgument", "The continuation token provided is incorrect", 400, {
    ArgumentName: "continuation-token",
    ArgumentValue: token,
  });
}

// ---------------------------------------------------------------- answers and errors

function xmlAnswer(root: string, content: Array<XmlChild | undefined>): Answer {
  return {
    status: 200,
    headers: { "content-type": "application/xml" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${buildXmlIn(S3_NAMESPACE, root, content)}`,
  };
}

function noSuchKey(key: string, headers: Record<string, string> = {}): ServiceError {
  return new ServiceError("NoSuchKey", "The specified key does not exist.", 404, { Key: key }, headers);
}

function preconditionFailed(condition: string): ServiceError {
  return new ServiceError(
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold",
    412,
    {
      Condition: condition,
    },
  );
}

function invalidRange(size: number): ServiceError {
  return new ServiceError(
    "InvalidRange",
    "The requested range is not satisfiable",
    416,
    {
      ActualObjectSize: size,
    },
    { "content-range": `bytes */${size}` },
  );
}

function malformedXml(): ServiceError {
  return new ServiceError(
    "MalformedXML",
    "The XML you provided was not well-formed or did not validate against our published schema",
    400,
  );
}

/** A 32-character version id, like S3's. */
function newVersionId(): string {
  return randomBytes(24).toString("base64url");
}
