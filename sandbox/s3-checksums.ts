/**
 * The payload checksums S3 verifies on an upload: Content-MD5 and the
 * flexible checksums (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1,
 * -sha256), each base64 of the big-endian digest, as the SDK sends them.
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";

/** The flexible checksum algorithms S3 accepts, by the suffix of their header name. */
export type ChecksumAlgorithm = "crc32" | "crc32c" | "crc64nvme" | "sha1" | "sha256";

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  "crc32",
  "crc32c",
  "crc64nvme",
  "sha1",
  "sha256",
];

/** The name S3 spells an algorithm with in messages and ChecksumAlgorithm fields. */
export const CHECKSUM_NAMES: Readonly<Record<ChecksumAlgorithm, string>> = {
  crc32: "CRC32",
  crc32c: "CRC32C",
  crc64nvme: "CRC64NVME",
  sha1: "SHA1",
  sha256: "SHA256",
};

/** Digest length in bytes, to tell a malformed header from a wrong one. */
export const CHECKSUM_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
};

/** Base64 of the digest of `data` with `algorithm`. */
export function checksumOf(algorithm: ChecksumAlgorithm, data: Buffer): string {
  switch (algorithm) {
    case "crc32":
      return uint32Base64(crc32(data));
    case "crc32c":
      return uint32Base64(crc32c(data));
    case "crc64nvme": {
      const digest = Buffer.alloc(8);
      digest.writeBigUInt64BE(crc64nvme(data));
      return digest.toString("base64");
    }
    case "sha1":
    case "sha256":
      return createHash(algorithm).update(data).digest("base64");
  }
}

/** Base64 MD5, as Content-MD5 carries it. */
export function md5Base64(data: Buffer): string {
  return createHash("md5").update(data).digest("base64");
}

/** Hex MD5: the ETag of a single-part upload. */
export function md5Hex(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

function uint32Base64(value: number): string {
  const digest = Buffer.alloc(4);
  digest.writeUInt32BE(value >>> 0);
  return digest.toString("base64");
}

const CRC32C_TABLE = reflectedTable32(0x82f63b78);

function reflectedTable32(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let value = index;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? (value >>> 1) ^ polynomial : value >>> 1;
    table[index] = value >>> 0;
  }
  return table;
}

/** CRC-32C (Castagnoli), reflected, init and final XOR 0xFFFFFFFF. */
export function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC64_POLYNOMIAL = 0x9a6c9329ac4bc9b5n;
const MASK64 = 0xffffffffffffffffn;
const CRC64_TABLE: bigint[] = Array.from({ length: 256 }, (_, index) => {
  let value = BigInt(index);
  for (let bit = 0; bit < 8; bit++) value = value & 1n ? (value >> 1n) ^ CRC64_POLYNOMIAL : value >> 1n;
  return value;
});

/** CRC-64/NVME, reflected, init and final XOR all ones. */
export function crc64nvme(data: Buffer): bigint {
  let crc = MASK64;
  for (const byte of data) crc = (CRC64_TABLE[Number((crc ^ BigInt(byte)) & 0xffn)] ?? 0n) ^ (crc >> 8n);
  return crc ^ MASK64;
}
