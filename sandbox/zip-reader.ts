/**
 * Reads the files of a zip archive (stored or deflated entries) from its
 * central directory, as Lambda unpacks a deployment package.
 */
import { inflateRawSync } from "node:zlib";

/** Thrown for bytes that are not a zip archive the reader can unpack. */
export class ZipFormatError extends Error {}

/** The regular files of a zip archive by their path inside it; directories are left out. */
export function readZip(archive: Buffer): Map<string, Buffer> {
  const endAt = findEndOfCentralDirectory(archive);
  const count = archive.readUInt16LE(endAt + 10);
  let at = archive.readUInt32LE(endAt + 16);
  const files = new Map<string, Buffer>();
  for (let index = 0; index < count; index++) {
    if (archive.readUInt32LE(at) !== 0x02014b50)
      throw new ZipFormatError("a central directory entry is damaged");
    const method = archive.readUInt16LE(at + 10);
    const compressedSize = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const localAt = archive.readUInt32LE(at + 42);
    const name = archive.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith("/")) continue;
    if (name.startsWith("/") || name.split("/").includes(".."))
      throw new ZipFormatError(`the entry ${JSON.stringify(name)} points outside the archive`);
    if (archive.readUInt32LE(localAt) !== 0x04034b50)
      throw new ZipFormatError(`the entry ${name} is damaged`);
    const dataAt = localAt + 30 + archive.readUInt16LE(localAt + 26) + archive.readUInt16LE(localAt + 28);
    const data = archive.subarray(dataAt, dataAt + compressedSize);
    if (method === 0) files.set(name, Buffer.from(data));
    else if (method === 8) files.set(name, inflateRawSync(data));
    else
      throw new ZipFormatError(
        `the entry ${name} uses compression method ${method}; stored (0) and deflate (8) are read`,
      );
  }
  return files;
}

function findEndOfCentralDirectory(archive: Buffer): number {
  for (let at = archive.length - 22; at >= Math.max(0, archive.length - 22 - 0xffff); at--)
    if (archive.readUInt32LE(at) === 0x06054b50) return at;
  throw new ZipFormatError("no end of central directory record");
}
