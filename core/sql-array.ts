/**
 * A PostgreSQL array literal for a `$n::type[]` parameter (`{1,2.5,NULL}`, `{"a","b\"c"}`), in one
 * pass over the values. Given a JavaScript array instead, pg converts every element on its own
 * (prepareValue, arrayString) and quotes it with two regular expressions (escapeElement), numbers
 * included, for every element of every batch (its cost: BENCHMARKS.md, "The fleet parks between the
 * alerts pairs' steps").
 *
 * Elements: null and undefined are NULL; a number is written as JavaScript writes it (NaN and
 * Infinity are what float8 reads; a fraction or an exponent given to an integer column is refused
 * by PostgreSQL, as it was when pg wrote them); a boolean t or f; a string always quoted, its
 * backslashes and double quotes escaped, so no content (commas, braces, NULL, blanks) is read as
 * anything but the one element (test/db/sql-array.test.ts round-trips hostile strings through
 * PostgreSQL).
 */
export function sqlArray(values: readonly (string | number | boolean | null | undefined)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const v = values[i];
    if (v === null || v === undefined) out += "NULL";
    else if (typeof v === "number") out += String(v);
    else if (typeof v === "boolean") out += v ? "t" : "f";
    else if (typeof v === "string") out += `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, "\\$&") : v}"`;
    // a Date or an object reaching here past the types would be written as nothing PostgreSQL reads
    else throw new TypeError(`sqlArray: element ${i} is a ${typeof v}, not a string, number or boolean`);
  }
  return `${out}}`;
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;
