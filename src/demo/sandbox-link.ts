/**
 * Starts the sandbox for the demo and adapts its handle to what the demo
 * uses (endpoint, AWS environment, data-plane URLs, close). When the
 * sandbox's entry point does not start the data plane itself, the demo
 * starts it over the same services and serves its admin API (the same
 * handler, /_sandbox/backends) on a loopback port of its own.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type DataPlane, startDataPlane } from "../../sandbox/dataplane.js";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { SandboxSeed, ServiceHandler } from "../../sandbox/types.js";
import type { DemoSandbox } from "./context.js";

/** A loopback listener serving the data plane's admin API, for a sandbox that does not mount it itself. */
async function serveAdmin(admin: ServiceHandler): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const answer = admin.matches(req)
        ? admin.handle(req, Buffer.concat(chunks), res)
        : Promise.resolve(
            void res
              .writeHead(404)
              .end(JSON.stringify({ message: `no admin endpoint ${req.method} ${req.url}` })),
          );
      answer.catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(JSON.stringify({ message: error.message }));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts the sandbox (and its data plane) with `seed` on free loopback ports. */
export async function startDemoSandbox(seed: SandboxSeed): Promise<DemoSandbox & { notes: string[] }> {
  const sandbox: Sandbox & { dataPlaneUrls?: Record<string, string> } = await startSandbox({ seed });
  const notes: string[] = [];
  let dataPlane: DataPlane | undefined;
  let adminServer: { url: string; close(): Promise<void> } | undefined;
  let urls = sandbox.dataPlaneUrls;
  if (!urls) {
    dataPlane = await startDataPlane({
      seed,
      records: sandbox.route53,
      ecs: sandbox.ecs,
      lambda: sandbox.lambda,
      metrics: sandbox.cloudwatch,
    });
    adminServer = await serveAdmin(dataPlane.admin);
    urls = dataPlane.urls;
    notes.push(
      `startSandbox returned no dataPlaneUrls: the demo started the data plane (sandbox/dataplane.ts) itself, its admin API on ${adminServer.url}`,
    );
  }
  return {
    endpoint: sandbox.endpoint,
    adminEndpoint: adminServer?.url ?? sandbox.endpoint,
    env: sandbox.env,
    dataPlaneUrls: urls,
    notes,
    async close() {
      await adminServer?.close();
      await dataPlane?.close();
      await sandbox.close();
    },
  };
}
