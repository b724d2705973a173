import { isLastKnown, STATE_COLORS, type VehicleState } from "./vehicle-state.ts";

// marker images: 72 headings (5° apart) per state, drawn once and copied per marker
const HEADING_STEP = 5;
const OUTLINE = "#ffffff";
const HALO = "#102a43";

/** Pixels a marker image covers: the blit cost is its area. */
export const spritePx = (selected: boolean) => (selected ? 34 : 20);

/**
 * Marker images by state, heading bucket and selection. With the software rasterizer (no GPU)
 * copying a pre-drawn image is about twice as fast as filling and stroking 5,000 anti-aliased
 * paths (41 vs 21 full redraws/s measured, BENCHMARKS.md).
 */
export class SpriteCache {
  private readonly sprites = new Map<string, HTMLCanvasElement>();

  stamp(
    ctx: CanvasRenderingContext2D,
    x: number,
    y: number,
    state: VehicleState,
    heading: number | undefined,
    selected: boolean,
  ): void {
    const bucket = heading === undefined ? -1 : Math.round(heading / HEADING_STEP) % (360 / HEADING_STEP);
    const key = `${state}:${bucket}:${selected ? 1 : 0}`;
    let sprite = this.sprites.get(key);
    if (!sprite) {
      sprite = drawSprite(state, bucket < 0 ? undefined : bucket * HEADING_STEP, selected);
      this.sprites.set(key, sprite);
    }
    const px = spritePx(selected);
    ctx.drawImage(sprite, Math.round(x - px / 2), Math.round(y - px / 2), px, px);
  }
}

/**
 * One marker image: an arrow along the heading, or a dot when the heading is unknown, in the
 * state's colour (stale or offline: hollow, it is where the vehicle was last seen); the selected one
 * larger inside a dark ring.
 */
function drawSprite(state: VehicleState, heading: number | undefined, selected: boolean): HTMLCanvasElement {
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  const px = spritePx(selected);
  canvas.width = px * ratio;
  canvas.height = px * ratio;
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
  ctx.scale(ratio, ratio);
  const c = px / 2;
  if (selected) {
    ctx.beginPath();
    ctx.arc(c, c, c - 1.5, 0, 2 * Math.PI);
    ctx.fillStyle = "rgb(255 255 255 / 70%)";
    ctx.fill();
    ctx.lineWidth = 3;
    ctx.strokeStyle = HALO;
    ctx.stroke();
  }
  const color = STATE_COLORS[state];
  const hollow = isLastKnown(state);
  ctx.fillStyle = hollow ? OUTLINE : color;
  ctx.strokeStyle = hollow ? color : OUTLINE;
  ctx.lineWidth = hollow || selected ? 2 : 1.5;
  const r = selected ? 8 : 6;
  ctx.beginPath();
  if (heading === undefined) {
    ctx.arc(c, c, r * 0.8, 0, 2 * Math.PI);
  } else {
    // heading: degrees clockwise from north; canvas angles run clockwise from east
    const a = ((heading - 90) * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    const x = (f: number, s: number) => c + f * cos - s * sin;
    const y = (f: number, s: number) => c + f * sin + s * cos;
    ctx.moveTo(x(r * 1.4, 0), y(r * 1.4, 0));
    ctx.lineTo(x(-r, r * 0.9), y(-r, r * 0.9));
    ctx.lineTo(x(-r * 0.5, 0), y(-r * 0.5, 0));
    ctx.lineTo(x(-r, -r * 0.9), y(-r, -r * 0.9));
    ctx.closePath();
  }
  ctx.fill();
  ctx.stroke();
  return canvas;
}
