/** A row of buttons choosing one view; the chosen one is pressed (aria-pressed). */
export function TabButtons<T extends string>(props: {
  tabs: readonly T[];
  active: T;
  onSelect: (tab: T) => void;
  /** the navigation's accessible name */
  label: string;
  className: string;
  /** a count shown on a tab (new events), none when 0 */
  badges?: Partial<Record<T, number>>;
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
          {(props.badges?.[t] ?? 0) > 0 && (
            <span className="tab-badge" data-testid={`${t}-badge`}>
              {props.badges?.[t]}
              <span className="sr-only"> new</span>
            </span>
          )}
        </button>
      ))}
    </nav>
  );
}
