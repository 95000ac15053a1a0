/**
 * The registry of checkpoint stores: the one place that knows the
 * implementations, so callers depend only on the interface.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { type CheckpointStore, checkpointStoreLocation } from "./checkpoint-store.js";
import { S3CheckpointStore } from "./s3-checkpoint-store.js";

/** Creates the store a location names ("s3://bucket/prefix"); `where` names the input for errors. */
export function createCheckpointStore(
  value: string,
  where: string,
  options: { region?: string; s3?: S3Client } = {},
): CheckpointStore {
  const location = checkpointStoreLocation(value, where);
  const client =
    options.s3 ??
    new S3Client({
      retryMode: "adaptive",
      maxAttempts: 6,
      ...(options.region ? { region: options.region } : {}),
    });
  return new S3CheckpointStore(location, client);
}
