import { distanceValue, unitLabels } from "../format.ts";

const BAR_H = 18;
const LABEL_W = 140;
const WIDTH = 560;

/** Distance per vehicle as horizontal bars: plain SVG, the 30 longest of the rows given. */
export function DailyChart(props: { rows: { vehicleId: string; distanceM: number }[] }) {
  const rows = [...props.rows].sort((a, b) => b.distanceM - a.distanceM).slice(0, 30);
  const max = Math.max(1, ...rows.map((r) => r.distanceM));
  const barMax = WIDTH - LABEL_W - 70;
  const unit = unitLabels().distance;
  return (
    <svg
      className="chart"
      role="img"
      aria-label="distance per vehicle"
      width={WIDTH}
      height={rows.length * (BAR_H + 4) + 4}
      viewBox={`0 0 ${WIDTH} ${rows.length * (BAR_H + 4) + 4}`}
    >
      {rows.map((r, i) => {
        const y = 4 + i * (BAR_H + 4);
        const w = (r.distanceM / max) * barMax;
        return (
          <g key={r.vehicleId}>
            <text x={LABEL_W - 6} y={y + BAR_H - 5} textAnchor="end" className="chart-label">
              {r.vehicleId}
            </text>
            <rect x={LABEL_W} y={y} width={Math.max(1, w)} height={BAR_H} className="chart-bar" />
            <text x={LABEL_W + w + 4} y={y + BAR_H - 5} className="chart-value">
              {distanceValue(r.distanceM)} {unit}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
