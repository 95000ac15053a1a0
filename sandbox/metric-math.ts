/**
 * CloudWatch metric math for GetMetricData expressions: a small parser and an
 * evaluator over time series laid on a common grid of period buckets, where a
 * missing datapoint is NaN. Operations between two series yield a datapoint
 * only where both have one, which is why FILL exists.
 */

/** The buckets a series is laid on: `count` buckets of `periodMs` from `origin` (epoch ms). */
export interface Grid {
  origin: number;
  periodMs: number;
  count: number;
}

/** A series on a grid; NaN marks a bucket without a datapoint. */
export interface TimeSeries {
  grid: Grid;
  values: Float64Array;
}

/** An expression that cannot be parsed or evaluated; the message says what and where. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionError";
  }
}

export type ExpressionNode =
  | { type: "number"; value: number }
  | { type: "reference"; id: string }
  | { type: "keyword"; name: "REPEAT" | "LINEAR" }
  | { type: "unary"; operator: "-" | "NOT"; operand: ExpressionNode }
  | { type: "binary"; operator: BinaryOperator; left: ExpressionNode; right: ExpressionNode }
  | { type: "call"; name: string; args: ExpressionNode[] }
  | { type: "array"; items: ExpressionNode[] };

type BinaryOperator = "+" | "-" | "*" | "/" | "^" | "==" | "!=" | "<" | ">" | "<=" | ">=" | "AND" | "OR";

/** Functions this sandbox evaluates (a subset of CloudWatch's). */
export const SUPPORTED_FUNCTIONS = [
  "IF",
  "FILL",
  "ABS",
  "CEIL",
  "FLOOR",
  "SUM",
  "AVG",
  "MIN",
  "MAX",
] as const;

interface Token {
  kind: "number" | "identifier" | "word" | "operator" | "(" | ")" | "[" | "]" | ",";
  text: string;
  position: number;
}

const OPERATORS = ["<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "^", "<", ">"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    const rest = text.slice(index);
    const number = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest);
    if (number) {
      tokens.push({ kind: "number", text: number[0], position: index });
      index += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      const kind = /^[a-z]/.test(word[0]) ? "identifier" : "word";
      tokens.push({ kind, text: word[0], position: index });
      index += word[0].length;
      continue;
    }
    if ("()[],".includes(char)) {
      tokens.push({ kind: char as Token["kind"], text: char, position: index });
      index++;
      continue;
    }
    const operator = OPERATORS.find((candidate) => rest.startsWith(candidate));
    if (!operator) throw new ExpressionError(`unexpected character '${char}' at position ${index}`);
    tokens.push({ kind: "operator", text: operator, position: index });
    index += operator.length;
  }
  return tokens;
}

/** Recursive descent, lowest precedence first: OR, AND, comparison, + -, * /, unary, ^. */
class Parser {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parse(): ExpressionNode {
    if (this.tokens.length === 0) throw new ExpressionError("the expression is empty");
    const node = this.or();
    const extra = this.peek();
    if (extra) throw this.error(`unexpected '${extra.text}'`, extra);
    return node;
  }

  private or(): ExpressionNode {
    let left = this.and();
    while (this.acceptOperator("||", "OR"))
      left = { type: "binary", operator: "OR", left, right: this.and() };
    return left;
  }

  private and(): ExpressionNode {
    let left = this.comparison();
    while (this.acceptOperator("&&", "AND"))
      left = { type: "binary", operator: "AND", left, right: this.comparison() };
    return left;
  }

  private comparison(): ExpressionNode {
    let left = this.additive();
    for (;;) {
      const token = this.peek();
      if (token?.kind !== "operator" || !["==", "!=", "<", ">", "<=", ">="].includes(token.text)) return left;
      this.index++;
      left = { type: "binary", operator: token.text as BinaryOperator, left, right: this.additive() };
    }
  }

  private additive(): ExpressionNode {
    let left = this.multiplicative();
    for (;;) {
      const token = this.peek();
      if (token?.kind !== "operator" || (token.text !== "+" && token.text !== "-")) return left;
      this.index++;
      left = { type: "binary", operator: token.text, left, right: this.multiplicative() };
    }
  }

  private multiplicative(): ExpressionNode {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      if (token?.kind !== "operator" || (token.text !== "*" && token.text !== "/")) return left;
      this.index++;
      left = { type: "binary", operator: token.text, left, right: this.unary() };
    }
  }

  /** Unary minus binds looser than ^, so -a ^ 2 is -(a ^ 2) as in arithmetic. */
  private unary(): ExpressionNode {
    if (this.acceptOperator("-")) return { type: "unary", operator: "-", operand: this.unary() };
    if (this.acceptOperator("NOT")) return { type: "unary", operator: "NOT", operand: this.unary() };
    return this.power();
  }

  private power(): ExpressionNode {
    const base = this.primary();
    if (this.acceptOperator("^")) return { type: "binary", operator: "^", left: base, right: this.unary() };
    return base;
  }

  private primary(): ExpressionNode {
    const token = this.peek();
    if (!token) throw new ExpressionError(`the expression "${this.text}" ends where a value is expected`);
    this.index++;
    switch (token.kind) {
      case "number":
        return { type: "number", value: Number(token.text) };
      case "identifier":
        return { type: "reference", id: token.text };
      case "(": {
        const inner = this.or();
        this.expect(")");
        return inner;
      }
      case "[":
        return { type: "array", items: this.list("]") };
      case "word":
        return this.word(token);
      default:
        throw this.error(`unexpected '${token.text}'`, token);
    }
  }

  private word(token: Token): ExpressionNode {
    if (token.text === "REPEAT" || token.text === "LINEAR") return { type: "keyword", name: token.text };
    if (this.peek()?.kind !== "(") {
      throw this.error(
        `'${token.text}' is not a query id (ids start with a lowercase letter) nor a function call`,
        token,
      );
    }
    if (!(SUPPORTED_FUNCTIONS as readonly string[]).includes(token.text)) {
      throw this.error(
        `unsupported function ${token.text}; supported: ${SUPPORTED_FUNCTIONS.join(", ")}`,
        token,
      );
    }
    this.index++;
    return { type: "call", name: token.text, args: this.list(")") };
  }

  private list(close: ")" | "]"): ExpressionNode[] {
    const items: ExpressionNode[] = [];
    if (this.peek()?.kind === close) {
      this.index++;
      return items;
    }
    for (;;) {
      items.push(this.or());
      const token = this.peek();
      if (token?.kind === ",") {
        this.index++;
        continue;
      }
      this.expect(close);
      return items;
    }
  }

  private acceptOperator(...texts: string[]): boolean {
    const token = this.peek();
    if (token && (token.kind === "operator" || token.kind === "word") && texts.includes(token.text)) {
      this.index++;
      return true;
    }
    return false;
  }

  private expect(kind: Token["kind"]): void {
    const token = this.peek();
    if (token?.kind !== kind) {
      throw token
        ? this.error(`expected '${kind}' but found '${token.text}'`, token)
        : this.error(`expected '${kind}'`);
    }
    this.index++;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private error(message: string, token?: Token): ExpressionError {
    const where = token ? ` at position ${token.position}` : " at the end";
    return new ExpressionError(`${message}${where} of "${this.text}"`);
  }
}

/** Parses a metric math expression; throws ExpressionError naming the position. */
export function parseExpression(text: string): ExpressionNode {
  return new Parser(tokenize(text), text).parse();
}

/** Query ids the expression reads, in order of first appearance. */
export function referencedIds(node: ExpressionNode): string[] {
  const ids = new Set<string>();
  const visit = (current: ExpressionNode): void => {
    switch (current.type) {
      case "reference":
        ids.add(current.id);
        return;
      case "unary":
        visit(current.operand);
        return;
      case "binary":
        visit(current.left);
        visit(current.right);
        return;
      case "call":
        current.args.forEach(visit);
        return;
      case "array":
        current.items.forEach(visit);
        return;
      default:
        return;
    }
  };
  visit(node);
  return [...ids];
}

type Value =
  | { kind: "scalar"; value: number }
  | { kind: "series"; series: TimeSeries }
  | { kind: "array"; items: TimeSeries[] }
  | { kind: "keyword"; name: "REPEAT" | "LINEAR" };

/** Evaluates an expression; `resolve` returns the series of a referenced query id (or throws). */
export function evaluateExpression(node: ExpressionNode, resolve: (id: string) => TimeSeries): TimeSeries {
  const value = evaluate(node, resolve);
  if (value.kind !== "series") {
    throw new ExpressionError(`the expression must evaluate to one time series, not ${describe(value)}`);
  }
  return value.series;
}

function evaluate(node: ExpressionNode, resolve: (id: string) => TimeSeries): Value {
  switch (node.type) {
    case "number":
      return { kind: "scalar", value: node.value };
    case "reference":
      return { kind: "series", series: resolve(node.id) };
    case "keyword":
      return { kind: "keyword", name: node.name };
    case "array":
      return {
        kind: "array",
        items: node.items.map((item) => {
          const value = evaluate(item, resolve);
          if (value.kind !== "series")
            throw new ExpressionError(`an array may only hold time series, not ${describe(value)}`);
          return value.series;
        }),
      };
    case "unary": {
      const operand = evaluate(node.operand, resolve);
      const apply = node.operator === "-" ? (x: number) => -x : (x: number) => (x === 0 ? 1 : 0);
      return map(operand, apply, node.operator);
    }
    case "binary":
      return binary(node.operator, evaluate(node.left, resolve), evaluate(node.right, resolve));
    case "call":
      return call(
        node.name,
        node.args.map((arg) => evaluate(arg, resolve)),
      );
  }
}

function describe(value: Value): string {
  switch (value.kind) {
    case "scalar":
      return `the number ${value.value}`;
    case "array":
      return `an array of ${value.items.length} series`;
    case "keyword":
      return `the keyword ${value.name}`;
    case "series":
      return "a time series";
  }
}

function blank(grid: Grid): TimeSeries {
  return { grid, values: new Float64Array(grid.count).fill(Number.NaN) };
}

/** Non-finite results (x/0, overflow) are dropped as CloudWatch drops them. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : Number.NaN;
}

function map(value: Value, apply: (x: number) => number, what: string): Value {
  if (value.kind === "scalar") return { kind: "scalar", value: finite(apply(value.value)) };
  if (value.kind !== "series")
    throw new ExpressionError(`${what} needs a number or a time series, not ${describe(value)}`);
  const out = blank(value.series.grid);
  value.series.values.forEach((x, index) => {
    if (!Number.isNaN(x)) out.values[index] = finite(apply(x));
  });
  return { kind: "series", series: out };
}

function sameGrid(a: TimeSeries, b: TimeSeries): Grid {
  if (
    a.grid.periodMs !== b.grid.periodMs ||
    a.grid.origin !== b.grid.origin ||
    a.grid.count !== b.grid.count
  ) {
    throw new ExpressionError(
      `time series with different periods (${a.grid.periodMs / 1000} s and ${b.grid.periodMs / 1000} s) cannot be combined`,
    );
  }
  return a.grid;
}

const BINARY: Record<BinaryOperator, (x: number, y: number) => number> = {
  "+": (x, y) => x + y,
  "-": (x, y) => x - y,
  "*": (x, y) => x * y,
  "/": (x, y) => x / y,
  "^": (x, y) => x ** y,
  "==": (x, y) => (x === y ? 1 : 0),
  "!=": (x, y) => (x !== y ? 1 : 0),
  "<": (x, y) => (x < y ? 1 : 0),
  ">": (x, y) => (x > y ? 1 : 0),
  "<=": (x, y) => (x <= y ? 1 : 0),
  ">=": (x, y) => (x >= y ? 1 : 0),
  AND: (x, y) => (x !== 0 && y !== 0 ? 1 : 0),
  OR: (x, y) => (x !== 0 || y !== 0 ? 1 : 0),
};

function binary(operator: BinaryOperator, left: Value, right: Value): Value {
  const apply = BINARY[operator];
  if (left.kind === "scalar" && right.kind === "scalar") {
    return { kind: "scalar", value: finite(apply(left.value, right.value)) };
  }
  if (left.kind === "series" && right.kind === "scalar")
    return map(left, (x) => apply(x, right.value), operator);
  if (left.kind === "scalar" && right.kind === "series")
    return map(right, (y) => apply(left.value, y), operator);
  if (left.kind === "series" && right.kind === "series") {
    const out = blank(sameGrid(left.series, right.series));
    for (let index = 0; index < out.values.length; index++) {
      const x = left.series.values[index]!;
      const y = right.series.values[index]!;
      if (!Number.isNaN(x) && !Number.isNaN(y)) out.values[index] = finite(apply(x, y));
    }
    return { kind: "series", series: out };
  }
  throw new ExpressionError(`operator ${operator} cannot combine ${describe(left)} and ${describe(right)}`);
}

function call(name: string, args: Value[]): Value {
  switch (name) {
    case "IF":
      return ifFunction(args);
    case "FILL":
      return fill(args);
    case "ABS":
      return map(single(name, args), Math.abs, name);
    case "CEIL":
      return map(single(name, args), Math.ceil, name);
    case "FLOOR":
      return map(single(name, args), Math.floor, name);
    case "SUM":
    case "AVG":
    case "MIN":
    case "MAX":
      return aggregate(name, single(name, args));
    default:
      throw new ExpressionError(`unsupported function ${name}; supported: ${SUPPORTED_FUNCTIONS.join(", ")}`);
  }
}

function single(name: string, args: Value[]): Value {
  if (args.length !== 1) throw new ExpressionError(`${name} takes 1 argument, got ${args.length}`);
  return args[0]!;
}

/** IF(condition, whenTrue[, whenFalse]): no datapoint where the chosen branch (or the condition) has none. */
function ifFunction(args: Value[]): Value {
  if (args.length < 2 || args.length > 3)
    throw new ExpressionError(`IF takes 2 or 3 arguments, got ${args.length}`);
  const [condition, whenTrue, whenFalse] = args as [Value, Value, Value | undefined];
  for (const arg of args) {
    if (arg.kind !== "scalar" && arg.kind !== "series") {
      throw new ExpressionError(`IF needs numbers or time series, not ${describe(arg)}`);
    }
  }
  if (condition.kind === "scalar") {
    if (condition.value !== 0) return whenTrue;
    return whenFalse ?? { kind: "scalar", value: Number.NaN };
  }
  if (condition.kind !== "series") throw new ExpressionError("IF needs a condition");
  const grid = condition.series.grid;
  const pick = (branch: Value | undefined, index: number): number => {
    if (!branch) return Number.NaN;
    if (branch.kind === "scalar") return branch.value;
    if (branch.kind === "series") {
      sameGrid(condition.series, branch.series);
      return branch.series.values[index]!;
    }
    return Number.NaN;
  };
  const out = blank(grid);
  condition.series.values.forEach((test, index) => {
    if (Number.isNaN(test)) return;
    out.values[index] = test !== 0 ? pick(whenTrue, index) : pick(whenFalse, index);
  });
  return { kind: "series", series: out };
}

/** FILL(series, number | series | REPEAT | LINEAR): gives every bucket of the range a datapoint where it can. */
function fill(args: Value[]): Value {
  if (args.length !== 2) throw new ExpressionError(`FILL takes 2 arguments, got ${args.length}`);
  const [target, filler] = args as [Value, Value];
  if (target.kind !== "series")
    throw new ExpressionError(`FILL fills a time series, not ${describe(target)}`);
  const source = target.series.values;
  const out: TimeSeries = { grid: target.series.grid, values: Float64Array.from(source) };
  if (filler.kind === "scalar") {
    out.values.forEach((x, index) => {
      if (Number.isNaN(x)) out.values[index] = filler.value;
    });
  } else if (filler.kind === "series") {
    sameGrid(target.series, filler.series);
    out.values.forEach((x, index) => {
      if (Number.isNaN(x)) out.values[index] = filler.series.values[index]!;
    });
  } else if (filler.kind === "keyword" && filler.name === "REPEAT") {
    // Buckets before the first datapoint stay empty: there is nothing to repeat yet.
    let last = Number.NaN;
    out.values.forEach((x, index) => {
      if (Number.isNaN(x)) out.values[index] = last;
      else last = x;
    });
  } else if (filler.kind === "keyword") {
    fillLinear(out.values);
  } else {
    throw new ExpressionError(`FILL cannot fill with ${describe(filler)}`);
  }
  return { kind: "series", series: out };
}

/** Interpolates between the datapoints either side of a gap; gaps at either end stay empty. */
function fillLinear(values: Float64Array): void {
  let previous = -1;
  for (let index = 0; index < values.length; index++) {
    if (Number.isNaN(values[index]!)) continue;
    if (previous >= 0 && index - previous > 1) {
      const from = values[previous]!;
      const step = (values[index]! - from) / (index - previous);
      for (let gap = previous + 1; gap < index; gap++) values[gap] = from + step * (gap - previous);
    }
    previous = index;
  }
}

/** Over an array: one series, bucket by bucket. Over one series: the single number over all its datapoints. */
function aggregate(name: "SUM" | "AVG" | "MIN" | "MAX", arg: Value): Value {
  const reduce = (values: number[]): number => {
    if (values.length === 0) return Number.NaN;
    switch (name) {
      case "SUM":
        return values.reduce((a, b) => a + b, 0);
      case "AVG":
        return values.reduce((a, b) => a + b, 0) / values.length;
      case "MIN":
        return Math.min(...values);
      case "MAX":
        return Math.max(...values);
    }
  };
  if (arg.kind === "series") {
    return { kind: "scalar", value: reduce([...arg.series.values].filter((x) => !Number.isNaN(x))) };
  }
  if (arg.kind !== "array" || arg.items.length === 0) {
    throw new ExpressionError(
      `${name} needs a time series or a non-empty array of them, not ${describe(arg)}`,
    );
  }
  const grid = arg.items.reduce((found, item) => sameGrid(arg.items[0]!, item) ?? found, arg.items[0]!.grid);
  const out = blank(grid);
  for (let index = 0; index < grid.count; index++) {
    const present = arg.items.map((item) => item.values[index]!).filter((x) => !Number.isNaN(x));
    out.values[index] = reduce(present);
  }
  return { kind: "series", series: out };
}
