import type { ReactNode } from "react";
import type { Order } from "../reports-api.ts";

export interface Column<T> {
  key: string;
  /** the header; with the unit its cells are in, e.g. "Distance (km)" */
  label: string;
  /** sorted by the API under this name; not sortable when absent */
  sort?: string;
  numeric?: boolean;
  cell: (row: T) => ReactNode;
}

/**
 * A report table: headers that sort (the API sorts, so the whole fleet is in order, not one page)
 * and say their direction (aria-sort), rows as given.
 */
export function DataTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  sort: string;
  order: Order;
  onSort: (sort: string, order: Order) => void;
  empty: string;
}) {
  const { columns, rows } = props;
  return (
    <table className="table data-table" aria-label={props.label}>
      <thead>
        <tr>
          {columns.map((c) => {
            const sorted = c.sort !== undefined && c.sort === props.sort;
            const dir = props.order === "asc" ? "ascending" : "descending";
            return (
              <th key={c.key} aria-sort={sorted ? dir : undefined} className={c.numeric ? "num" : undefined}>
                {c.sort === undefined ? (
                  c.label
                ) : (
                  <button
                    type="button"
                    className="sort"
                    onClick={() =>
                      props.onSort(
                        c.sort as string,
                        // numbers start biggest first: the longest distance is what one looks for
                        sorted ? (props.order === "asc" ? "desc" : "asc") : c.numeric ? "desc" : "asc",
                      )
                    }
                  >
                    {c.label}
                  </button>
                )}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={props.rowKey(r)} data-testid="report-row">
            {columns.map((c) => (
              <td key={c.key} className={c.numeric ? "num" : undefined}>
                {c.cell(r)}
              </td>
            ))}
          </tr>
        ))}
        {rows.length === 0 && (
          <tr>
            <td colSpan={columns.length}>{props.empty}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** Previous / next under a table, and where the page is ("101–200 of 501"). */
export function Pager(props: {
  text: string;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
}) {
  return (
    <nav className="row pager" aria-label="pages">
      <button type="button" onClick={props.onPrevious} disabled={!props.hasPrevious}>
        Previous page
      </button>
      <span data-testid="page-position">{props.text}</span>
      <button type="button" onClick={props.onNext} disabled={!props.hasNext}>
        Next page
      </button>
    </nav>
  );
}
