/** A row of buttons choosing one view; the chosen one is pressed (aria-pressed). */
export function TabButtons<T extends string>(props: {
  tabs: readonly T[];
  active: T;
  onSelect: (tab: T) => void;
  /** the navigation's accessible name */
  label: string;
  className: string;
}) {
  return (
    <nav className={props.className} aria-label={props.label}>
      {props.tabs.map((t) => (
        <button
          type="button"
          key={t}
          className={t === props.active ? "active" : ""}
          aria-pressed={t === props.active}
          onClick={() => props.onSelect(t)}
        >
          {t[0]?.toUpperCase() + t.slice(1)}
        </button>
      ))}
    </nav>
  );
}
