/** timestamptz → ISO-8601 UTC in SQL, as the routes answer times; `col` is always a constant. */
export const isoSql = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
