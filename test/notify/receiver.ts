// A loopback webhook receiver for tests: checks each request's signature,
// keeps what it received, and answers as scripted (200, 500, 429 with
// Retry-After, or never).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhookSignature } from "../../src/notify/signing.js";

export type Answer = { status: number; retryAfter?: string; body?: string } | "hang";

export interface Received {
  headers: IncomingMessage["headers"];
  body: string;
  /** Null when the receiver has no secret (Slack does not sign). */
  signature: { ok: boolean; reason?: string } | null;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers for the next requests, in order; 200 once they run out. */
  script(...answers: Answer[]): void;
  /** Answers for the next requests whose body `when` accepts, in order (ahead of unconditional ones). */
  scriptWhen(when: (body: string) => boolean, ...answers: Answer[]): void;
  close(): Promise<void>;
}

export async function startReceiver(options: { secret?: string; path?: string } = {}): Promise<Receiver> {
  const received: Received[] = [];
  const answers: { when?: (body: string) => boolean; answer: Answer }[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = request.headers["cutover-signature"];
      const signature = options.secret
        ? verifyWebhookSignature({
            secret: options.secret,
            header: Array.isArray(header) ? header[0] : header,
            body,
            nowSeconds: Math.floor(Date.now() / 1000),
          })
        : null;
      received.push({ headers: request.headers, body, signature, at: Date.now() });
      const index = answers.findIndex((entry) => entry.when?.(body) ?? true);
      const answer = index === -1 ? { status: 200 } : answers.splice(index, 1)[0]!.answer;
      if (answer === "hang") {
        hanging.add(response);
        return;
      }
      if (signature && !signature.ok) {
        response.writeHead(401).end(signature.reason);
        return;
      }
      response.writeHead(answer.status, answer.retryAfter ? { "retry-after": answer.retryAfter } : {});
      response.end(answer.body ?? (answer.status < 300 ? "ok" : "error"));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? "/hook"}`,
    received,
    script: (...next) => answers.push(...next.map((answer) => ({ answer }))),
    scriptWhen: (when, ...next) => answers.push(...next.map((answer) => ({ when, answer }))),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
