import { STATE_COLORS, STATES, type VehicleState } from "./vehicle-state.ts";

/** Side of a grid cell in screen pixels: every vehicle in one cell is one bubble. */
export const CELL_PX = 64;

export interface Cell {
  /** container pixels: the mean position of its vehicles */
  x: number;
  y: number;
  n: number;
  counts: Record<VehicleState, number>;
}

/**
 * Vehicles binned into a grid fixed to the world (cells keyed by world pixel, so a bubble does
 * not jump from cell to cell while the map pans), summed as they are added.
 */
export class CellGrid {
  private readonly cells = new Map<number, Cell & { sx: number; sy: number }>();

  add(worldX: number, worldY: number, x: number, y: number, state: VehicleState): void {
    const key = Math.floor(worldX / CELL_PX) * 1_048_576 + Math.floor(worldY / CELL_PX);
    let c = this.cells.get(key);
    if (!c) {
      c = {
        x: 0,
        y: 0,
        sx: 0,
        sy: 0,
        n: 0,
        counts: { moving: 0, idle: 0, stopped: 0, stale: 0, offline: 0 },
      };
      this.cells.set(key, c);
    }
    c.n++;
    c.sx += x;
    c.sy += y;
    c.counts[state]++;
  }

  done(): Cell[] {
    const out: Cell[] = [];
    for (const c of this.cells.values()) out.push({ x: c.sx / c.n, y: c.sy / c.n, n: c.n, counts: c.counts });
    return out;
  }
}

export const cellRadius = (n: number) => Math.min(26, 9 + 3.2 * Math.log10(n + 1) * 2);

/** A bubble: a ring split by state in the legend's colours, the count inside. */
export function drawCell(ctx: CanvasRenderingContext2D, c: Cell): void {
  const r = cellRadius(c.n);
  ctx.beginPath();
  ctx.arc(c.x, c.y, r, 0, 2 * Math.PI);
  ctx.fillStyle = "rgb(255 255 255 / 88%)";
  ctx.fill();
  ctx.lineWidth = 5;
  let a = -Math.PI / 2;
  for (const s of STATES) {
    const k = c.counts[s];
    if (k === 0) continue;
    const b = a + (2 * Math.PI * k) / c.n;
    ctx.beginPath();
    ctx.arc(c.x, c.y, r - 2.5, a, b);
    ctx.strokeStyle = STATE_COLORS[s];
    ctx.stroke();
    a = b;
  }
  ctx.fillStyle = "#102a43";
  ctx.fillText(c.n >= 10_000 ? `${Math.round(c.n / 1000)}k` : String(c.n), c.x, c.y);
}

export function describeCell(c: Cell): string {
  const parts = STATES.filter((s) => c.counts[s] > 0).map((s) => `${c.counts[s]} ${s}`);
  return `${c.n} vehicles: ${parts.join(", ")}. Click to zoom in.`;
}
