// CSV for the comparison export: RFC 4180 quoting, CRLF line ends, and a guard against formula
// injection. Property values and model names come from whoever sent the traffic; a cell such as
// `=HYPERLINK(...)` must reach a spreadsheet as text, not as a formula.

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // Numbers are written as numbers above, so a leading '-' here is text and gets the guard too.
  const text = FORMULA_START.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly CsvCell[]>): string {
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows) {
    if (r.length !== header.length) throw new Error(`toCsv: row has ${r.length} cells, header has ${header.length}`);
    lines.push(r.map(csvCell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
