/**
 * Fitting an envelope into a sink's size limit (SNS takes 256 KiB per
 * message): the envelope is shortened, step by step, never dropped. First the
 * free-form evidence goes, then verdict figures are cut, then the summary and
 * reason are shortened; `data.truncated` tells the receiver, whose full
 * account is the status file.
 */
import type { CloudEvent } from "./events.js";
import { shorten } from "./slack.js";

/** SNS's limit on a message (and its attributes), in bytes. */
export const SNS_MAX_MESSAGE_BYTES = 262_144;

function size(event: CloudEvent): number {
  return Buffer.byteLength(JSON.stringify(event), "utf8");
}

/** The envelope as sent: itself when it fits in `maxBytes`, else a shortened copy marked truncated. */
export function fitEnvelope(event: CloudEvent, maxBytes: number): CloudEvent {
  if (size(event) <= maxBytes) return event;
  const copy = structuredClone(event);
  copy.data.truncated = true;
  if (copy.data.evidence) {
    copy.data.evidence = { omitted: "too large for this sink; see the status file's history" };
  }
  if (size(copy) <= maxBytes) return copy;
  const figures = copy.data.verdict?.figures;
  while (figures && figures.length > 0 && size(copy) > maxBytes) figures.pop();
  if (size(copy) <= maxBytes) return copy;
  copy.data.links = copy.data.links?.slice(0, 2);
  // Whatever is left over the limit is text: halve the longest until it fits.
  for (let round = 0; round < 64 && size(copy) > maxBytes; round++) {
    const excess = size(copy) - maxBytes;
    const data = copy.data;
    const reason = data.rollback?.reason ?? data.reason ?? "";
    if (reason.length > data.summary.length) {
      const shorter = shorten(reason, Math.max(16, reason.length - excess - 16));
      if (data.rollback?.reason) data.rollback.reason = shorter;
      else data.reason = shorter;
    } else {
      data.summary = shorten(data.summary, Math.max(16, data.summary.length - excess - 16));
    }
  }
  return copy;
}
