import { useEffect, useState } from "react";
import { dateTime, duration, speed } from "../format.ts";
import { positionAt, type Track } from "./track-layer.tsx";

const TICK_MS = 100;
/** how many seconds of the track one second of replay covers */
const SPEEDS = [1, 10, 60, 300, 900] as const;

/**
 * The replay of a loaded track. The scrubber moves through time, not from point to point: a
 * 44-minute silence takes its 44 minutes of the bar, and the replay jumps over it.
 */
export function HistoryReplay(props: { track: Track; onTrack: (t: Track) => void }) {
  const { track, onTrack } = props;
  const [playing, setPlaying] = useState(false);
  const [rate, setRate] = useState<number>(60);
  const start = track.times[0] ?? 0;
  const end = track.times.at(-1) ?? start;
  const span = end - start;
  // a second, or coarser on a long track, so the bar has at most ~2,000 steps
  const step = Math.max(1000, Math.ceil(span / 2000 / 1000) * 1000);
  const here = positionAt(track, track.at);

  useEffect(() => {
    if (!playing) return;
    const t = setInterval(() => {
      let at = track.at + TICK_MS * rate;
      const now = positionAt(track, at);
      // nothing to watch in a gap: on to the fix after it
      if (now.inGap) at = track.times[now.index + 1] ?? at;
      if (at >= end) {
        setPlaying(false);
        at = end;
      }
      onTrack({ ...track, at });
    }, TICK_MS);
    return () => clearInterval(t);
  }, [playing, track, onTrack, rate, end]);

  return (
    <div className="card replay">
      <p>
        {track.points.length} fixes · {dateTime(start)} → {dateTime(end)} ({duration(span / 1000)})
      </p>
      <input
        type="range"
        aria-label="replay position"
        min={0}
        max={span}
        step={step}
        value={track.at - start}
        onChange={(e) => onTrack({ ...track, at: start + Number(e.target.value) })}
      />
      <p data-testid="replay-time" data-at={new Date(track.at).toISOString()}>
        {dateTime(track.at)} · {here.inGap ? "no fixes" : speed(track.speed[here.index])}
      </p>
      <div className="row">
        <button
          type="button"
          onClick={() => {
            if (track.at >= end) onTrack({ ...track, at: start });
            setPlaying(!playing);
          }}
        >
          {playing ? "Pause" : "Replay"}
        </button>
        <label>
          Replay speed
          <select value={rate} onChange={(e) => setRate(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
      </div>
    </div>
  );
}
