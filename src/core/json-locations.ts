/**
 * Line numbers for values of a JSON text, keyed by JSON pointer, so that an
 * error about `migrations[0].phases[2]` can say which line to look at.
 * JSON.parse keeps no positions, hence this small scanner; it also reports
 * where a syntax error is, which JSON.parse on Node 20 does not always say.
 */

/** Where each value starts (1-based line) by JSON pointer ("" is the root), or where the text stops being JSON. */
export interface JsonLocations {
  lines: Map<string, number>;
  syntaxError?: { message: string; line: number; column: number };
}

/** Escapes one reference token of a JSON pointer (RFC 6901). */
export function escapePointerToken(token: string | number): string {
  return String(token).replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Joins path segments into a JSON pointer. */
export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((segment) => `/${escapePointerToken(segment)}`).join("");
}

/** true, false, null or a number, matched where the scanner stands (sticky). */
const LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

class Scanner {
  offset = 0;
  readonly lines = new Map<string, number>();
  private readonly lineStarts: number[] = [0];

  constructor(private readonly text: string) {
    for (let index = 0; index < text.length; index++) {
      if (text[index] === "\n") this.lineStarts.push(index + 1);
    }
  }

  lineOf(offset: number): number {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  }

  columnOf(offset: number): number {
    return offset - this.lineStarts[this.lineOf(offset) - 1]! + 1;
  }

  private skipWhitespace(): void {
    while (this.offset < this.text.length && " \t\r\n".includes(this.text[this.offset]!)) this.offset++;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.offset);
  }

  private expect(character: string): void {
    if (this.text[this.offset] !== character) {
      this.fail(`expected ${JSON.stringify(character)} but found ${this.describeHere()}`);
    }
    this.offset++;
  }

  private describeHere(): string {
    return this.offset >= this.text.length ? "the end of the file" : JSON.stringify(this.text[this.offset]);
  }

  document(): void {
    this.value("");
    this.skipWhitespace();
    if (this.offset < this.text.length)
      this.fail(`unexpected ${this.describeHere()} after the end of the JSON value`);
  }

  private value(pointer: string): void {
    this.skipWhitespace();
    this.lines.set(pointer, this.lineOf(this.offset));
    const character = this.text[this.offset];
    if (character === "{") this.object(pointer);
    else if (character === "[") this.array(pointer);
    else if (character === '"') this.string();
    else this.literal();
  }

  private object(pointer: string): void {
    this.expect("{");
    this.skipWhitespace();
    if (this.text[this.offset] === "}") {
      this.offset++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.offset] !== '"')
        this.fail(`expected a property name in quotes but found ${this.describeHere()}`);
      const key = this.string();
      this.skipWhitespace();
      this.expect(":");
      this.value(`${pointer}/${escapePointerToken(key)}`);
      this.skipWhitespace();
      if (this.text[this.offset] === ",") {
        this.offset++;
        continue;
      }
      this.expect("}");
      return;
    }
  }

  private array(pointer: string): void {
    this.expect("[");
    this.skipWhitespace();
    if (this.text[this.offset] === "]") {
      this.offset++;
      return;
    }
    for (let index = 0; ; index++) {
      this.value(`${pointer}/${index}`);
      this.skipWhitespace();
      if (this.text[this.offset] === ",") {
        this.offset++;
        continue;
      }
      this.expect("]");
      return;
    }
  }

  private string(): string {
    const start = this.offset;
    this.expect('"');
    while (this.offset < this.text.length) {
      const character = this.text[this.offset]!;
      if (character === "\\") this.offset += 2;
      else if (character === '"') {
        this.offset++;
        try {
          return JSON.parse(this.text.slice(start, this.offset)) as string;
        } catch {
          this.offset = start;
          this.fail("invalid escape in a string");
        }
      } else if (character === "\n") this.fail("unterminated string (a line break inside quotes)");
      else this.offset++;
    }
    return this.fail("unterminated string at the end of the file");
  }

  private literal(): void {
    LITERAL.lastIndex = this.offset;
    const match = LITERAL.exec(this.text);
    if (!match) this.fail(`unexpected ${this.describeHere()}`);
    this.offset += match[0].length;
  }
}

/** Scans a JSON text for the line of every value; on a syntax error, says where it is. */
export function locateJson(text: string): JsonLocations {
  const scanner = new Scanner(text);
  try {
    scanner.document();
    return { lines: scanner.lines };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return {
      lines: scanner.lines,
      syntaxError: {
        message: error.message,
        line: scanner.lineOf(error.offset),
        column: scanner.columnOf(error.offset),
      },
    };
  }
}
