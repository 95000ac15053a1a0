/**
 * The checkpoint store on S3: `checkpoints/<id>.json` written with a
 * conditional PUT (If-Match on the ETag read, If-None-Match for the first),
 * which S3 applies atomically, so two writers can never both believe they
 * wrote; `journal/<id>/<entry>.json` written with If-None-Match so a
 * duplicate event writes nothing. A versioned bucket keeps every previous
 * checkpoint.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parseCheckpointDocument, parseJournalEntry } from "../core/aws-checkpoint.js";
import type { AwsCheckpointDocument, AwsJournalEntry } from "../model/aws-checkpoint.js";
import {
  CheckpointConflict,
  type CheckpointStore,
  type CheckpointStoreLocation,
  type StoredCheckpoint,
} from "./checkpoint-store.js";

/** Journal listing is bounded: a migration with more entries than this has a reconcile problem to report. */
const MAX_JOURNAL_PAGES = 20;

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3CheckpointStore implements CheckpointStore {
  readonly label: string;

  constructor(
    private readonly location: CheckpointStoreLocation,
    private readonly client: S3Client,
  ) {
    this.label = `s3://${location.bucket}/${location.prefix}`;
  }

  private checkpointKey(migrationId: string): string {
    return `${this.location.prefix}checkpoints/${migrationId}.json`;
  }

  private journalPrefix(migrationId: string): string {
    return `${this.location.prefix}journal/${migrationId}/`;
  }

  checkpointLabel(migrationId: string): string {
    return `s3://${this.location.bucket}/${this.checkpointKey(migrationId)}`;
  }

  async read(migrationId: string): Promise<StoredCheckpoint | undefined> {
    let text: string;
    let version: string;
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: this.checkpointKey(migrationId) }),
      );
      text = (await output.Body?.transformToString("utf-8")) ?? "";
      version = output.ETag ?? "";
    } catch (error) {
      if ((error as Error).name === "NoSuchKey") return undefined;
      throw error;
    }
    return {
      document: parseCheckpointDocument(text, this.checkpointLabel(migrationId), migrationId),
      version,
    };
  }

  async write(document: AwsCheckpointDocument, expected: string | undefined): Promise<string> {
    try {
      const output = await this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: this.checkpointKey(document.migration),
          Body: `${JSON.stringify(document, null, 2)}\n`,
          ContentType: "application/json",
          ...(expected === undefined ? { IfNoneMatch: "*" } : { IfMatch: expected }),
        }),
      );
      return output.ETag ?? "";
    } catch (error) {
      const status = statusOf(error);
      // 412: the object is not at the version read; 409: a concurrent
      // conditional write won the race; 404 for If-Match: it was deleted.
      if (status === 412 || status === 409 || (status === 404 && expected !== undefined)) {
        throw new CheckpointConflict(
          `${this.checkpointLabel(document.migration)} changed since it was read (another writer); nothing was written`,
        );
      }
      throw error;
    }
  }

  async appendJournal(entry: AwsJournalEntry): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: `${this.journalPrefix(entry.migration)}${entry.id}.json`,
          Body: `${JSON.stringify(entry, null, 2)}\n`,
          ContentType: "application/json",
          IfNoneMatch: "*",
        }),
      );
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  async listJournal(migrationId: string): Promise<{ entries: AwsJournalEntry[]; problems: string[] }> {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_JOURNAL_PAGES; page++) {
      const output = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: this.journalPrefix(migrationId),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of output.Contents ?? []) if (object.Key?.endsWith(".json")) keys.push(object.Key);
      token = output.NextContinuationToken;
      if (!token) break;
    }
    const entries: AwsJournalEntry[] = [];
    const problems: string[] = [];
    for (const key of keys) {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      const parsed = parseJournalEntry((await output.Body?.transformToString("utf-8")) ?? "");
      if ("entry" in parsed) entries.push(parsed.entry);
      else problems.push(`s3://${this.location.bucket}/${key}: ${parsed.problem}`);
    }
    entries.sort((a, b) => a.at.localeCompare(b.at));
    return { entries, problems };
  }
}
