/**
 * Simulated DNS resolvers in front of a weighted record. Each one answers
 * from its cache until the record's TTL runs out, then asks Route 53 again
 * and gets one weighted answer at random, so a weight change reaches clients
 * gradually over one TTL, as it does in the world.
 */
import type { Random } from "./random.js";
import type { RecordView, WeightedAnswer } from "./types.js";

interface CachedAnswer {
  setIdentifier: string;
  expiresAt: number;
}

/** Options of a resolver pool. */
export interface ResolverPoolOptions {
  recordName: string;
  records: RecordView;
  /** How many resolvers share the clients; more resolvers, smoother split. */
  resolvers: number;
  random: Random;
  now?: () => number;
}

/**
 * Route 53's weighted choice: each record with probability weight / total;
 * when every weight is 0, all records are equally likely. Undefined when no
 * record exists.
 */
export function pickWeighted(answers: WeightedAnswer[], random: Random): WeightedAnswer | undefined {
  if (answers.length === 0) return undefined;
  const total = answers.reduce((sum, answer) => sum + answer.weight, 0);
  if (total <= 0) return answers[Math.floor(random() * answers.length)];
  let point = random() * total;
  for (const answer of answers) {
    if (answer.weight <= 0) continue;
    point -= answer.weight;
    if (point < 0) return answer;
  }
  return answers.findLast((answer) => answer.weight > 0);
}

/** A pool of caching resolvers; requests take turns through them (round robin). */
export class ResolverPool {
  private readonly caches: Array<CachedAnswer | undefined>;
  private next = 0;
  private readonly now: () => number;

  constructor(private readonly options: ResolverPoolOptions) {
    if (!Number.isInteger(options.resolvers) || options.resolvers < 1) {
      throw new Error(
        `dataPlane "${options.recordName}": resolvers must be a positive integer, got ${options.resolvers}`,
      );
    }
    this.caches = new Array(options.resolvers).fill(undefined);
    this.now = options.now ?? Date.now;
  }

  /** The SetIdentifier the next client is sent to, or undefined when the record has no weighted answers. */
  resolve(): string | undefined {
    const index = this.next;
    this.next = (this.next + 1) % this.caches.length;
    const now = this.now();
    const cached = this.caches[index];
    if (cached && cached.expiresAt > now) return cached.setIdentifier;
    const answer = pickWeighted(
      this.options.records.weightedAnswers(this.options.recordName),
      this.options.random,
    );
    if (!answer) {
      this.caches[index] = undefined;
      return undefined;
    }
    const ttlMs = Math.max(0, answer.ttl) * 1000;
    // A resolver's first answer gets a random age, so the pool's caches do not all expire in the same instant.
    const lifetime = cached === undefined ? ttlMs * this.options.random() : ttlMs;
    this.caches[index] = { setIdentifier: answer.setIdentifier, expiresAt: now + lifetime };
    return answer.setIdentifier;
  }

  /** Current share of resolvers caching each SetIdentifier (unexpired entries only). */
  cachedShares(): Record<string, number> {
    const now = this.now();
    const shares: Record<string, number> = {};
    for (const cached of this.caches) {
      if (cached && cached.expiresAt > now)
        shares[cached.setIdentifier] = (shares[cached.setIdentifier] ?? 0) + 1;
    }
    for (const key of Object.keys(shares)) shares[key] = shares[key]! / this.caches.length;
    return shares;
  }
}
