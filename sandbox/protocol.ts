/**
 * Wire helpers shared by the sandbox's services: request ids, the error
 * bodies of each AWS protocol (REST-XML, AWS JSON 1.0/1.1, REST-JSON), and a
 * small XML reader and writer for the subset Route 53 speaks (elements, text,
 * the five predefined entities and numeric character references).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** The wire protocols of the services the sandbox serves. */
export type WireProtocol =
  | "rest-xml"
  | "rest-xml-s3"
  | "json-1.1"
  | "rest-json"
  | "json-1.0-query"
  | "sqs-json-1.0-query"
  /** AWS Query: form-encoded requests, XML answers (ELBv2). */
  | "query-xml"
  /** AWS Query for SNS: XML answers and errors in SNS's own namespace. */
  | "aws-query-sns";

/** Protocol of each service, by the name its ServiceHandler carries. */
export const SERVICE_PROTOCOLS: Readonly<Record<string, WireProtocol>> = {
  route53: "rest-xml",
  s3: "rest-xml-s3",
  ecs: "json-1.1",
  lambda: "rest-json",
  cloudwatch: "json-1.0-query",
  eventbridge: "json-1.1",
  sqs: "sqs-json-1.0-query",
  elbv2: "query-xml",
  sns: "aws-query-sns",
};

/** Services by the name the SDK signs requests for (the SigV4 credential scope). */
export const SIGNING_NAMES: Readonly<Record<string, string>> = {
  route53: "route53",
  s3: "s3",
  ecs: "ecs",
  lambda: "lambda",
  monitoring: "cloudwatch",
  events: "eventbridge",
  sqs: "sqs",
  elasticloadbalancing: "elbv2",
  sns: "sns",
};

/** An error a service answers with, in AWS's vocabulary. */
export class ServiceError extends Error {
  constructor(
    /** The AWS error code, e.g. "InvalidChangeBatch", "ResourceNotFoundException". */
    readonly code: string,
    message: string,
    /** The HTTP status AWS answers this error with. */
    readonly status = 400,
    /** Extra body fields some errors carry (Lambda's "Type", ECS's "resourceIds"). */
    readonly fields: Record<string, unknown> = {},
    /** Extra response headers (S3's x-amz-delete-marker on a NoSuchKey). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** A fresh AWS-style request id. */
export function newRequestId(): string {
  return randomUUID();
}

/** The request id the server assigned to this request (set before dispatch). */
export function requestIdOf(req: IncomingMessage): string {
  const assigned = (req as IncomingMessage & { sandboxRequestId?: string }).sandboxRequestId;
  return assigned ?? newRequestId();
}

/** Remembers the request id so every writer answers with the same one. */
export function assignRequestId(req: IncomingMessage): string {
  const id = newRequestId();
  (req as IncomingMessage & { sandboxRequestId?: string }).sandboxRequestId = id;
  return id;
}

/** The service a request was signed for, from the SigV4 Authorization header's credential scope. */
export function signingServiceOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (typeof authorization !== "string") return undefined;
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization);
  return scope?.[1];
}

/** The value of the X-Amz-Target header, "" when absent. */
export function amzTarget(req: IncomingMessage): string {
  const target = req.headers["x-amz-target"];
  return typeof target === "string" ? target : "";
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  payload: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(payload),
    "x-amzn-requestid": requestIdOf(req),
    ...headers,
  });
  res.end(payload);
}

/** Answers a JSON body with the content type of the given protocol. */
export function sendJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  protocol: WireProtocol,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const contentType =
    protocol === "json-1.1"
      ? "application/x-amz-json-1.1"
      : protocol === "json-1.0-query" || protocol === "sqs-json-1.0-query"
        ? "application/x-amz-json-1.0"
        : "application/json";
  send(req, res, status, contentType, status === 204 ? "" : JSON.stringify(body), headers);
}

/** Answers an XML document (REST-XML services). */
export function sendXmlBody(req: IncomingMessage, res: ServerResponse, status: number, xml: string): void {
  send(req, res, status, "text/xml", `<?xml version="1.0"?>\n${xml}`);
}

/** Answers `error` in the error shape of `protocol`, so the SDK raises its own exception class. */
export function sendServiceError(
  req: IncomingMessage,
  res: ServerResponse,
  protocol: WireProtocol,
  error: ServiceError,
): void {
  const requestId = requestIdOf(req);
  switch (protocol) {
    // The Query protocol's error document is REST-XML's: ErrorResponse > Error > Type, Code, Message.
    case "query-xml":
    case "rest-xml": {
      const xml = buildXml("ErrorResponse", [
        [
          "Error",
          [
            ["Type", error.status >= 500 ? "Receiver" : "Sender"],
            ["Code", error.code],
            ["Message", error.message],
          ],
        ],
        ["RequestId", requestId],
      ]);
      send(req, res, error.status, "text/xml", `<?xml version="1.0"?>\n${xml}`);
      return;
    }
    case "rest-xml-s3": {
      // S3's error document has no namespace and names the resource; a HEAD answer carries no body at all.
      const resource = decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/");
      const extra = Object.entries(error.fields).map(([name, value]): XmlChild => [name, String(value)]);
      const xml = `<Error>${contentToXml([
        ["Code", error.code],
        ["Message", error.message],
        ...extra,
        ["Resource", resource],
        ["RequestId", requestId],
      ])}</Error>`;
      const payload = req.method === "HEAD" ? "" : `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
      res.writeHead(error.status, {
        "content-type": "application/xml",
        "content-length": Buffer.byteLength(payload),
        "x-amz-request-id": requestId,
        ...error.headers,
      });
      res.end(payload);
      return;
    }
    case "json-1.1":
      sendJsonBody(req, res, protocol, error.status, {
        __type: error.code,
        message: error.message,
        ...error.fields,
      });
      return;
    case "rest-json": {
      // Lambda writes "Type" and "Message" (capital M) in its error bodies, and the code in x-amzn-ErrorType.
      const headers: Record<string, string> = { "x-amzn-errortype": error.code };
      if (error.status === 429) headers["retry-after"] = "1";
      const type = error.status >= 500 ? "Service" : "User";
      sendJsonBody(
        req,
        res,
        protocol,
        error.status,
        { Type: type, Message: error.message, ...error.fields },
        headers,
      );
      return;
    }
    case "aws-query-sns": {
      const xml =
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${error.status >= 500 ? "Receiver" : "Sender"}</Type>` +
        `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`;
      send(req, res, error.status, "text/xml", `<?xml version="1.0"?>\n${xml}`);
      return;
    }
    case "json-1.0-query":
    case "sqs-json-1.0-query":
      // The query-compatible SDK reads the legacy code from this header; the body carries no "code" key on purpose.
      sendJsonBody(
        req,
        res,
        protocol,
        error.status,
        {
          __type: `com.amazonaws.${protocol === "json-1.0-query" ? "cloudwatch" : "sqs"}#${error.code}`,
          message: error.message,
        },
        { "x-amzn-query-error": `${error.code};${error.status >= 500 ? "Receiver" : "Sender"}` },
      );
      return;
  }
}

/** The unknown-operation error AWS answers for an operation a service does not have (or the sandbox does not serve). */
export function unknownOperation(description: string): ServiceError {
  return new ServiceError(
    "UnknownOperationException",
    `The sandbox does not serve ${description}. See docs/sandbox.md for the operations it implements.`,
    400,
  );
}

// ---------------------------------------------------------------- XML writing

/** An XML element's content: text, or child elements in order (`undefined` children are left out). */
export type XmlContent = string | number | boolean | Array<XmlChild | undefined>;
export type XmlChild = [name: string, content: XmlContent];

const ROUTE53_NAMESPACE = "https://route53.amazonaws.com/doc/2013-04-01/";

/** Serialises a document element in Route 53's namespace. */
export function buildXml(rootName: string, content: XmlContent): string {
  return buildXmlIn(ROUTE53_NAMESPACE, rootName, content);
}

/** Serialises a document element in the given XML namespace. */
export function buildXmlIn(namespace: string, rootName: string, content: XmlContent): string {
  return `<${rootName} xmlns="${namespace}">${contentToXml(content)}</${rootName}>`;
}

function contentToXml(content: XmlContent): string {
  if (!Array.isArray(content)) return escapeXml(String(content));
  let xml = "";
  for (const child of content) {
    if (child === undefined) continue;
    const [name, inner] = child;
    xml += `<${name}>${contentToXml(inner)}</${name}>`;
  }
  return xml;
}

/** Escapes text for element content. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] ?? char);
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

// ---------------------------------------------------------------- XML reading

/** A parsed XML element: its local name (prefix dropped), text, and child elements in order. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

/** Thrown for a document that is not well-formed XML. */
export class XmlSyntaxError extends Error {}

/** Parses a document and returns its root element; rejects what is not well-formed. */
export function parseXml(document: string): XmlElement {
  const reader = new XmlReader(document);
  return reader.readDocument();
}

/** The first child named `name`, if any. */
export function childElement(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

/** Every child named `name`, in document order. */
export function childElements(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** The trimmed text of the first child named `name`, undefined when absent. */
export function childText(element: XmlElement, name: string): string | undefined {
  const child = childElement(element, name);
  return child === undefined ? undefined : child.text.trim();
}

class XmlReader {
  private position = 0;

  constructor(private readonly source: string) {}

  readDocument(): XmlElement {
    this.skipProlog();
    if (this.source[this.position] !== "<") throw this.fail("expected a root element");
    const root = this.readElement();
    this.skipMisc();
    if (this.position < this.source.length) throw this.fail("content after the root element");
    return root;
  }

  private skipProlog(): void {
    this.skipWhitespace();
    if (this.source.startsWith("<?xml", this.position)) this.skipPast("?>");
    this.skipMisc();
    if (this.source.startsWith("<!DOCTYPE", this.position))
      throw this.fail("document type declarations are refused");
  }

  private skipMisc(): void {
    for (;;) {
      this.skipWhitespace();
      if (this.source.startsWith("<!--", this.position)) this.skipPast("-->");
      else if (this.source.startsWith("<?", this.position)) this.skipPast("?>");
      else return;
    }
  }

  private readElement(): XmlElement {
    this.position++; // "<"
    const qualifiedName = this.readName();
    this.readAttributes();
    const element: XmlElement = { name: localName(qualifiedName), text: "", children: [] };
    if (this.source.startsWith("/>", this.position)) {
      this.position += 2;
      return element;
    }
    if (this.source[this.position] !== ">") throw this.fail(`malformed start tag <${qualifiedName}>`);
    this.position++;
    for (;;) {
      if (this.position >= this.source.length) throw this.fail(`element <${qualifiedName}> is not closed`);
      if (this.source.startsWith("</", this.position)) {
        this.position += 2;
        const closing = this.readName();
        if (closing !== qualifiedName) throw this.fail(`</${closing}> closes <${qualifiedName}>`);
        this.skipWhitespace();
        if (this.source[this.position] !== ">") throw this.fail(`malformed end tag </${closing}>`);
        this.position++;
        return element;
      }
      if (this.source.startsWith("<!--", this.position)) this.skipPast("-->");
      else if (this.source.startsWith("<![CDATA[", this.position)) {
        const end = this.source.indexOf("]]>", this.position);
        if (end < 0) throw this.fail("unterminated CDATA section");
        element.text += this.source.slice(this.position + 9, end);
        this.position = end + 3;
      } else if (this.source[this.position] === "<") element.children.push(this.readElement());
      else {
        const next = this.source.indexOf("<", this.position);
        const end = next < 0 ? this.source.length : next;
        element.text += decodeEntities(this.source.slice(this.position, end), (message) =>
          this.fail(message),
        );
        this.position = end;
      }
    }
  }

  private readAttributes(): void {
    for (;;) {
      this.skipWhitespace();
      const char = this.source[this.position];
      if (char === ">" || char === "/" || char === undefined) return;
      this.readName();
      this.skipWhitespace();
      if (this.source[this.position] !== "=") throw this.fail("attribute without a value");
      this.position++;
      this.skipWhitespace();
      const quote = this.source[this.position];
      if (quote !== '"' && quote !== "'") throw this.fail("attribute value is not quoted");
      const end = this.source.indexOf(quote, this.position + 1);
      if (end < 0) throw this.fail("unterminated attribute value");
      this.position = end + 1;
    }
  }

  private readName(): string {
    const match = /^[A-Za-z_][\w.:-]*/.exec(this.source.slice(this.position, this.position + 256));
    if (!match) throw this.fail("expected a name");
    this.position += match[0].length;
    return match[0];
  }

  private skipWhitespace(): void {
    while (/\s/.test(this.source[this.position] ?? "")) this.position++;
  }

  private skipPast(terminator: string): void {
    const end = this.source.indexOf(terminator, this.position);
    if (end < 0) throw this.fail(`expected ${terminator}`);
    this.position = end + terminator.length;
  }

  private fail(message: string): XmlSyntaxError {
    return new XmlSyntaxError(`${message} at offset ${this.position}`);
  }
}

function localName(qualifiedName: string): string {
  const colon = qualifiedName.indexOf(":");
  return colon < 0 ? qualifiedName : qualifiedName.slice(colon + 1);
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string, fail: (message: string) => Error): string {
  return text.replace(/&([^;]{0,10});/g, (_whole, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    const named = NAMED_ENTITIES[entity];
    if (named === undefined) throw fail(`unknown entity &${entity};`);
    return named;
  });
}
