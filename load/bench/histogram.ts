/** Latency samples in milliseconds with exact percentiles (a bench run holds at most a few million). */
export class Samples {
  private values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get count(): number {
    return this.values.length;
  }

  merge(other: number[]): void {
    for (const v of other) this.values.push(v);
  }

  percentile(p: number): number {
    if (this.values.length === 0) return Number.NaN;
    const sorted = Float64Array.from(this.values).sort();
    const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[idx] as number;
  }

  /** A bounded sample for shipping between processes (every k-th value). */
  thin(max = 20_000): number[] {
    if (this.values.length <= max) return this.values;
    const step = this.values.length / max;
    return Array.from({ length: max }, (_, i) => this.values[Math.floor(i * step)] as number);
  }
}
