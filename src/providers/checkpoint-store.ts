/**
 * Where the AWS-side checkpoint and journal live: a place AWS can read
 * without GitHub. One implementation per file; {@link checkpointStoreLocation}
 * parses the configured location and refuses schemes it does not know.
 */
import type { AwsCheckpointDocument, AwsJournalEntry } from "../model/aws-checkpoint.js";

/** A document as read, with the version token a conditional write compares. */
export interface StoredCheckpoint {
  document: AwsCheckpointDocument;
  /** Opaque version token (S3: the ETag). */
  version: string;
}

/** Another writer changed the checkpoint since it was read; nothing was written. */
export class CheckpointConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointConflict";
  }
}

/** The checkpoint and journal of the migrations one environment guards. */
export interface CheckpointStore {
  /** "s3://bucket/prefix", for messages. */
  readonly label: string;
  /** Where one migration's checkpoint lives, for messages. */
  checkpointLabel(migrationId: string): string;
  /**
   * The migration's checkpoint, or undefined when none was ever written.
   * Throws CheckpointDocumentError when it exists but cannot be used.
   */
  read(migrationId: string): Promise<StoredCheckpoint | undefined>;
  /**
   * Writes the checkpoint only if it is still at `expected` (undefined: only
   * if none exists yet); throws {@link CheckpointConflict} otherwise. Returns the new version.
   */
  write(document: AwsCheckpointDocument, expected: string | undefined): Promise<string>;
  /** Writes a journal entry once: false (nothing written) when an entry with its id exists. */
  appendJournal(entry: AwsJournalEntry): Promise<boolean>;
  /** Every journal entry of the migration, oldest first; entries that cannot be read are returned as problems. */
  listJournal(migrationId: string): Promise<{ entries: AwsJournalEntry[]; problems: string[] }>;
}

/** A parsed store location. */
export interface CheckpointStoreLocation {
  scheme: "s3";
  bucket: string;
  /** Key prefix, "" or ending in "/". */
  prefix: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses "s3://bucket" or "s3://bucket/prefix/"; `where` names the input or
 * variable for the message.
 */
export function checkpointStoreLocation(value: string, where: string): CheckpointStoreLocation {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value.trim());
  if (!match) {
    throw new Error(
      `${where}: ${JSON.stringify(value)} is not a checkpoint store; give s3://<bucket> or s3://<bucket>/<prefix>`,
    );
  }
  const bucket = match[1]!;
  if (!BUCKET_NAME.test(bucket)) {
    throw new Error(
      `${where}: "${bucket}" is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)`,
    );
  }
  let prefix = match[2] ?? "";
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  return { scheme: "s3", bucket, prefix };
}
