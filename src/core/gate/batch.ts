/**
 * Packs queries into GetMetricData calls: at most 500 queries per call, an
 * expression always in the same call as the queries it reads. Units are
 * taken in order and a call is closed only when the next unit would not fit,
 * so the number of calls is the fewest this order allows (and the fewest
 * possible whenever no unit straddles a boundary).
 */
import type { MetricQuery } from "./queries.js";

/** GetMetricData's limit on MetricDataQuery structures per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** GetMetricData's limit on datapoints returned per call (page); more come with NextToken. */
export const MAX_DATAPOINTS_PER_CALL = 100_800;

/**
 * Splits `queries` into batches. `units` are groups of ids that must stay
 * together; a query in several units is repeated in each batch that needs
 * it. Queries in no unit are packed on their own.
 */
export function batchQueries(
  queries: readonly MetricQuery[],
  units: readonly (readonly string[])[],
  maxPerCall = MAX_QUERIES_PER_CALL,
): MetricQuery[][] {
  const byId = new Map(queries.map((query) => [query.id, query]));
  const covered = new Set(units.flat());
  const allUnits: (readonly string[])[] = [
    ...units,
    ...queries.filter((q) => !covered.has(q.id)).map((q) => [q.id]),
  ];
  const batches: MetricQuery[][] = [];
  let current = new Map<string, MetricQuery>();
  for (const unit of allUnits) {
    const missing = unit.filter((id) => !byId.has(id));
    if (missing.length > 0) throw new Error(`unit refers to unknown query ids ${missing.join(", ")}`);
    const distinct = [...new Set(unit)];
    if (distinct.length > maxPerCall) {
      throw new Error(
        `one expression needs ${distinct.length} queries, more than the ${maxPerCall} a call can carry`,
      );
    }
    const added = distinct.filter((id) => !current.has(id)).length;
    if (current.size + added > maxPerCall) {
      batches.push([...current.values()]);
      current = new Map();
    }
    for (const id of distinct) current.set(id, byId.get(id)!);
  }
  if (current.size > 0) batches.push([...current.values()]);
  // Keep the order queries were planned in within each batch (inputs before expressions reads well in evidence).
  const order = new Map(queries.map((query, index) => [query.id, index]));
  return batches.map((batch) => batch.sort((a, b) => order.get(a.id)! - order.get(b.id)!));
}

/**
 * The fewest GetMetricData calls the API allows for this many queries and
 * returned datapoints: each call carries at most 500 queries and returns at
 * most 100,800 datapoints.
 */
export function minimumCalls(queryCount: number, datapoints: number): number {
  if (queryCount === 0) return 0;
  return Math.max(
    Math.ceil(queryCount / MAX_QUERIES_PER_CALL),
    Math.ceil(datapoints / MAX_DATAPOINTS_PER_CALL),
    1,
  );
}
