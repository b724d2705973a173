import L from "leaflet";
import type { LivePosition } from "./api.ts";
import type { FleetStore } from "./fleet-store.ts";

export interface FleetCanvasOptions {
  /** a vehicle without a fix for this long is drawn as stale */
  staleMs: number;
  onSelect: (vehicleId: string) => void;
}

const HIT_RADIUS_PX = 10;
const MARGIN_PX = 12;
const COLORS = {
  moving: "#1565c0",
  idle: "#2e7d32",
  stale: "#9e9e9e",
  selected: "#ff6f00",
  outline: "#ffffff",
};

/**
 * All vehicle markers on ONE canvas (a DOM or SVG element per vehicle stops being smooth in
 * the low thousands). Redraws at most once per animation frame, on store updates and map
 * moves, and keeps what it drew — each marker's container pixel position — which is both the
 * click hit test and what the map container reports as `data-marker-count`.
 */
export class FleetCanvasLayer extends L.Layer {
  private canvas: HTMLCanvasElement | undefined;
  private frame: number | undefined;
  private unsubscribe: (() => void) | undefined;
  private staleTimer: ReturnType<typeof setInterval> | undefined;
  private selected: string | undefined;
  /** vehicle id → [x, y] in container pixels, as drawn in the last frame */
  readonly drawn = new Map<string, [number, number]>();

  constructor(
    private readonly store: FleetStore,
    private readonly opts: FleetCanvasOptions,
  ) {
    super();
  }

  override onAdd(map: L.Map): this {
    const canvas = L.DomUtil.create("canvas", "fleet-canvas leaflet-zoom-hide");
    canvas.dataset.testid = "fleet-canvas";
    map.getPane("overlayPane")?.appendChild(canvas);
    this.canvas = canvas;
    this.unsubscribe = this.store.subscribe(this.requestDraw);
    // staleness changes with time alone; a redraw every 15 s shows it without any message
    this.staleTimer = setInterval(this.requestDraw, 15_000);
    map.on("moveend zoomend resize viewreset", this.reset, this);
    map.on("move", this.requestDraw, this);
    map.on("click", this.onClick, this);
    this.reset();
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off("moveend zoomend resize viewreset", this.reset, this);
    map.off("move", this.requestDraw, this);
    map.off("click", this.onClick, this);
    this.unsubscribe?.();
    clearInterval(this.staleTimer);
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.canvas?.remove();
    this.canvas = undefined;
    this.drawn.clear();
    delete map.getContainer().dataset.markerCount;
    return this;
  }

  setSelected(id: string | undefined): void {
    this.selected = id;
    this.requestDraw();
  }

  private reset(): void {
    const map = this._map;
    const canvas = this.canvas;
    if (!map || !canvas) return;
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = size.x * ratio;
    canvas.height = size.y * ratio;
    canvas.style.width = `${size.x}px`;
    canvas.style.height = `${size.y}px`;
    this.requestDraw();
  }

  private readonly requestDraw = (): void => {
    this.frame ??= requestAnimationFrame(this.draw);
  };

  private readonly draw = (): void => {
    this.frame = undefined;
    const map = this._map;
    const canvas = this.canvas;
    if (!map || !canvas) return;
    // the canvas sits in the panning overlay pane: pin it to the container's top-left corner
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const size = map.getSize();
    ctx.clearRect(0, 0, size.x, size.y);
    this.drawn.clear();
    const now = Date.now();
    let selected: LivePosition | undefined;
    for (const p of this.store.positions.values()) {
      const pt = map.latLngToContainerPoint([p.lat, p.lng]);
      if (pt.x < -MARGIN_PX || pt.y < -MARGIN_PX || pt.x > size.x + MARGIN_PX || pt.y > size.y + MARGIN_PX)
        continue;
      this.drawn.set(p.vehicleId, [pt.x, pt.y]);
      if (p.vehicleId === this.selected) {
        selected = p;
        continue;
      }
      drawMarker(ctx, pt.x, pt.y, p, now - p.recordedAt > this.opts.staleMs, false);
    }
    // the selected vehicle last, on top of the others
    if (selected) {
      const [x, y] = this.drawn.get(selected.vehicleId) as [number, number];
      drawMarker(ctx, x, y, selected, now - selected.recordedAt > this.opts.staleMs, true);
    }
    map.getContainer().dataset.markerCount = String(this.drawn.size);
  };

  private onClick(e: L.LeafletMouseEvent): void {
    let best: string | undefined;
    let bestD = HIT_RADIUS_PX * HIT_RADIUS_PX;
    for (const [id, [x, y]] of this.drawn) {
      const d = (x - e.containerPoint.x) ** 2 + (y - e.containerPoint.y) ** 2;
      if (d <= bestD) {
        best = id;
        bestD = d;
      }
    }
    if (best) this.opts.onSelect(best);
  }
}

/** An arrow pointing along the heading; a dot when the heading is unknown; grey and hollow when stale. */
function drawMarker(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  p: LivePosition,
  stale: boolean,
  selected: boolean,
): void {
  const moving = (p.speed ?? 0) > 1;
  const fill = selected ? COLORS.selected : stale ? COLORS.stale : moving ? COLORS.moving : COLORS.idle;
  const r = selected ? 9 : 6;
  ctx.lineWidth = stale ? 2 : 1.5;
  ctx.strokeStyle = stale ? fill : COLORS.outline;
  ctx.fillStyle = stale ? COLORS.outline : fill;
  ctx.beginPath();
  if (p.heading === undefined) {
    ctx.arc(x, y, r * 0.8, 0, 2 * Math.PI);
  } else {
    // heading: degrees clockwise from north; canvas angles run clockwise from east
    const a = ((p.heading - 90) * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    const pt = (f: number, s: number): [number, number] => [x + f * cos - s * sin, y + f * sin + s * cos];
    ctx.moveTo(...pt(r * 1.4, 0));
    ctx.lineTo(...pt(-r, r * 0.9));
    ctx.lineTo(...pt(-r * 0.5, 0));
    ctx.lineTo(...pt(-r, -r * 0.9));
    ctx.closePath();
  }
  ctx.fill();
  ctx.stroke();
}
