import L from "leaflet";
import type { LivePosition } from "./api.ts";
import { type Cell, CellGrid, cellRadius, describeCell, drawCell } from "./fleet-clusters.ts";
import { SpriteCache } from "./fleet-sprites.ts";
import type { FleetStore } from "./fleet-store.ts";
import { type StateRule, stateOf, type VehicleState } from "./vehicle-state.ts";

export interface FleetCanvasOptions extends StateRule {
  onSelect: (vehicleId: string) => void;
  /** the tooltip and label text of a vehicle (its name, the id when it has none) */
  describe: (p: LivePosition, now: number) => { label: string; tooltip: string };
  /** presence (null: unknown): an offline vehicle is drawn as last known, whatever its last fix said */
  online: (vehicleId: string) => boolean | null | undefined;
}

const HIT_RADIUS_PX = 10;
const MARGIN_PX = 12;
/** more vehicles than this in view are drawn as counted bubbles, not one marker each */
export const MAX_MARKERS = 2000;
/** names beside the markers when this few are in view (and zoomed in enough to read them) */
const MAX_LABELS = 150;
const LABEL_MIN_ZOOM = 13;
/** bubbles change slowly: live updates redraw them at most this often (the map's own moves at once) */
const CLUSTER_REDRAW_MS = 250;
const MAX_LAT = 85.0511287798;

/**
 * All vehicle markers on ONE canvas (a DOM or SVG element per vehicle stops being smooth in
 * the low thousands); past MAX_MARKERS in view, one bubble per grid cell instead, so 20,000
 * vehicles cost a few hundred shapes. Redraws at most once per animation frame, on store
 * updates and map moves, and keeps what it drew — each marker's container pixel position —
 * which is the click and hover hit test; the map container reports `data-marker-count` (the
 * vehicles in view, as markers or inside bubbles) and `data-render-mode`.
 */
export class FleetCanvasLayer extends L.Layer {
  private canvas: HTMLCanvasElement | undefined;
  private tooltip: HTMLDivElement | undefined;
  private frame: number | undefined;
  private throttle: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: (() => void) | undefined;
  private staleTimer: ReturnType<typeof setInterval> | undefined;
  private selected: string | undefined;
  private cells: Cell[] = [];
  /** vehicle id → [x, y] in container pixels, as drawn (one marker each) in the last frame */
  readonly drawn = new Map<string, [number, number]>();
  mode: "markers" | "clusters" = "markers";
  /** frames drawn so far (the frame-rate benchmark reports redraws per second) */
  drawCount = 0;
  private readonly sprites = new SpriteCache();

  /** the state each marker was drawn in (markers mode), for tests and debugging */
  readonly states = new Map<string, VehicleState>();

  private stateOf(p: LivePosition, now: number): VehicleState {
    const s = stateOf(p, now, this.opts, this.opts.online(p.vehicleId));
    this.states.set(p.vehicleId, s);
    return s;
  }

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
    this.tooltip = L.DomUtil.create("div", "fleet-tooltip", map.getContainer());
    this.tooltip.setAttribute("role", "tooltip");
    this.tooltip.hidden = true;
    this.unsubscribe = this.store.subscribe(this.onData);
    // staleness changes with time alone; a redraw every 15 s shows it without any message
    this.staleTimer = setInterval(this.requestDraw, 15_000);
    map.on("moveend zoomend resize viewreset", this.reset, this);
    map.on("move", this.requestDraw, this);
    map.on("click", this.onClick, this);
    map.on("mousemove", this.onHover, this);
    map.on("mouseout movestart", this.hideTooltip, this);
    this.reset();
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off("moveend zoomend resize viewreset", this.reset, this);
    map.off("move", this.requestDraw, this);
    map.off("click", this.onClick, this);
    map.off("mousemove", this.onHover, this);
    map.off("mouseout movestart", this.hideTooltip, this);
    this.unsubscribe?.();
    clearInterval(this.staleTimer);
    clearTimeout(this.throttle);
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.canvas?.remove();
    this.tooltip?.remove();
    this.canvas = undefined;
    this.drawn.clear();
    this.states.clear();
    const c = map.getContainer();
    delete c.dataset.markerCount;
    delete c.dataset.renderMode;
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

  /** Live updates: every frame for markers; bubbles at most every CLUSTER_REDRAW_MS. */
  private readonly onData = (): void => {
    if (this.mode === "markers") {
      this.requestDraw();
      return;
    }
    this.throttle ??= setTimeout(() => {
      this.throttle = undefined;
      this.requestDraw();
    }, CLUSTER_REDRAW_MS);
  };

  private readonly draw = (): void => {
    this.frame = undefined;
    const map = this._map;
    const canvas = this.canvas;
    if (!map || !canvas) return;
    // the canvas sits in the panning overlay pane: pin it to the container's top-left corner
    const topLeft = map.containerPointToLayerPoint([0, 0]);
    L.DomUtil.setPosition(canvas, topLeft);
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    this.drawCount++;
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const size = map.getSize();
    ctx.clearRect(0, 0, size.x, size.y);
    this.drawn.clear();
    this.states.clear();

    // Web Mercator by hand (Leaflet's latLngToContainerPoint allocates per call): world pixels
    // at this zoom, minus the world pixel of the container's top-left corner
    const scale = 256 * 2 ** map.getZoom();
    const origin = map.getPixelOrigin();
    const ox = origin.x + topLeft.x;
    const oy = origin.y + topLeft.y;
    const inView: { p: LivePosition; wx: number; wy: number }[] = [];
    for (const p of this.store.positions.values()) {
      const wx = ((p.lng + 180) / 360) * scale;
      const s = Math.sin((Math.max(-MAX_LAT, Math.min(MAX_LAT, p.lat)) * Math.PI) / 180);
      const wy = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale;
      const x = wx - ox;
      const y = wy - oy;
      if (x < -MARGIN_PX || y < -MARGIN_PX || x > size.x + MARGIN_PX || y > size.y + MARGIN_PX) continue;
      inView.push({ p, wx, wy });
    }

    const now = Date.now();
    this.mode = inView.length > MAX_MARKERS ? "clusters" : "markers";
    let selected: { p: LivePosition; wx: number; wy: number } | undefined;
    if (this.mode === "clusters") {
      const grid = new CellGrid();
      for (const v of inView) {
        if (v.p.vehicleId === this.selected) selected = v;
        else grid.add(v.wx, v.wy, v.wx - ox, v.wy - oy, this.stateOf(v.p, now));
      }
      this.cells = grid.done();
      ctx.font = "600 11px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (const c of this.cells) drawCell(ctx, c);
    } else {
      this.cells = [];
      for (const v of inView) {
        const { p } = v;
        const x = v.wx - ox;
        const y = v.wy - oy;
        this.drawn.set(p.vehicleId, [x, y]);
        if (p.vehicleId === this.selected) selected = v;
        else this.sprites.stamp(ctx, x, y, this.stateOf(p, now), p.heading, false);
      }
    }
    // the selected vehicle last, larger, on top of the others (and of the bubbles)
    if (selected) {
      const { p } = selected;
      const [x, y] = [selected.wx - ox, selected.wy - oy];
      this.drawn.set(p.vehicleId, [x, y]);
      this.sprites.stamp(ctx, x, y, this.stateOf(p, now), p.heading, true);
    }
    if (this.mode === "markers" && inView.length <= MAX_LABELS && map.getZoom() >= LABEL_MIN_ZOOM)
      this.drawLabels(ctx, inView, now);
    const container = map.getContainer();
    const count = String(inView.length);
    if (container.dataset.markerCount !== count) container.dataset.markerCount = count;
    if (container.dataset.renderMode !== this.mode) container.dataset.renderMode = this.mode;
  };

  private drawLabels(ctx: CanvasRenderingContext2D, inView: { p: LivePosition }[], now: number): void {
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgb(255 255 255 / 90%)";
    ctx.fillStyle = "#102a43";
    for (const { p } of inView) {
      const at = this.drawn.get(p.vehicleId);
      if (!at) continue;
      const text = this.opts.describe(p, now).label;
      ctx.strokeText(text, at[0] + 12, at[1]);
      ctx.fillText(text, at[0] + 12, at[1]);
    }
  }

  /** The marker nearest a container point (within the hit radius), or the bubble under it. */
  private hit(pt: L.Point): { id: string } | { cell: Cell } | undefined {
    let best: string | undefined;
    let bestD = HIT_RADIUS_PX * HIT_RADIUS_PX;
    for (const [id, [x, y]] of this.drawn) {
      const d = (x - pt.x) ** 2 + (y - pt.y) ** 2;
      if (d <= bestD) {
        best = id;
        bestD = d;
      }
    }
    if (best) return { id: best };
    const cell = this.cells.find((c) => (c.x - pt.x) ** 2 + (c.y - pt.y) ** 2 <= cellRadius(c.n) ** 2);
    return cell ? { cell } : undefined;
  }

  private onClick(e: L.LeafletMouseEvent): void {
    const h = this.hit(e.containerPoint);
    if (!h || !this._map) return;
    if ("id" in h) this.opts.onSelect(h.id);
    else this._map.setView(this._map.containerPointToLatLng([h.cell.x, h.cell.y]), this._map.getZoom() + 2);
  }

  private onHover(e: L.LeafletMouseEvent): void {
    const tip = this.tooltip;
    if (!tip) return;
    const h = this.hit(e.containerPoint);
    const p = h && "id" in h ? this.store.positions.get(h.id) : undefined;
    const text = p ? this.opts.describe(p, Date.now()).tooltip : h && "cell" in h ? describeCell(h.cell) : "";
    if (!text) {
      this.hideTooltip();
      return;
    }
    tip.textContent = text;
    tip.hidden = false;
    L.DomUtil.setPosition(tip, e.containerPoint.add([14, 14]));
    this._map?.getContainer().classList.add("fleet-hover");
  }

  private hideTooltip(): void {
    if (this.tooltip) this.tooltip.hidden = true;
    this._map?.getContainer().classList.remove("fleet-hover");
  }
}
