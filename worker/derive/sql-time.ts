/**
 * Epoch milliseconds (how the worker passes times) and timestamptz in the worker's SQL text. Each
 * takes a constant column name or alias, never a value (test/security/sql-parameters.test.ts lists
 * every use).
 */

/** `col` (epoch ms) as timestamptz, parenthesised so an operator beside it (AT TIME ZONE) applies to the whole. */
export const TS = (col: string): string => `(timestamptz 'epoch' + ${col} * interval '1 millisecond')`;

/** `col` (timestamptz) as epoch ms. */
export const MS = (col: string): string => `(extract(epoch FROM ${col}) * 1000)::float8`;
