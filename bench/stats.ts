/** Small statistics helpers for the benchmarks. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** The median of per-round differences `a[i] - b[i]` (rounds alternate, so each pair shares a moment). */
export const medianDifference = (a: readonly number[], b: readonly number[]): number => median(a.map((x, i) => x - (b[i] ?? Number.NaN)));

export function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => String(row[col]).length))) ?? [];
  return rows.map((row) => row.map((cell, col) => String(cell).padEnd(widths[col] ?? 0)).join('  ')).join('\n');
}
