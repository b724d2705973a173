/** CSV (RFC 4180) for the vehicle import and export: quoted fields, "" inside quotes, CRLF or LF. */

export interface CsvRecord {
  /** the line the record starts on, 1-based (a quoted field may span lines) */
  line: number;
  cells: string[];
}

export class CsvError extends Error {
  override name = "CsvError";
}

/**
 * Parses CSV text into records, skipping blank lines. Throws CsvError on an unterminated quote or
 * more than `maxRecords` records (counted as they are read, so a huge file costs no more).
 */
export function parseCsv(text: string, maxRecords: number): CsvRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let touched = false;
  const endRecord = () => {
    cells.push(cell);
    if (touched || cells.length > 1 || cell !== "") {
      if (out.length === maxRecords) throw new CsvError(`more than ${maxRecords} rows`);
      out.push({ line: start, cells });
    }
    cells = [];
    cell = "";
    touched = false;
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        cell += c;
      }
    } else if (c === '"' && cell === "") {
      quoted = true;
      touched = true;
    } else if (c === ",") {
      cells.push(cell);
      cell = "";
      touched = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else cell += c;
  }
  if (quoted) throw new CsvError(`line ${start}: a quoted field is not closed`);
  endRecord();
  return out;
}

// a cell a spreadsheet would run as a formula (CSV injection): written with a leading '
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: quoted when needed, a formula-like value defused with a leading '. */
export function csvCell(value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  const v = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Undoes csvCell's defusing, so an exported file imports as it was. */
export function csvValue(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}

export function csvLine(values: (string | null | undefined)[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}
