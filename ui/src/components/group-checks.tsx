import type { Group } from "../access-api.ts";

/** A tick per vehicle group, for the forms that limit something to groups (vehicle add, API token). */
export function GroupChecks(props: {
  legend: string;
  groups: Group[];
  value: number[];
  onChange: (ids: number[]) => void;
}) {
  const { value, onChange } = props;
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.groups.map((g) => (
        <label key={g.id}>
          <input
            type="checkbox"
            checked={value.includes(g.id)}
            onChange={(e) => onChange(e.target.checked ? [...value, g.id] : value.filter((x) => x !== g.id))}
          />{" "}
          {g.name}
        </label>
      ))}
    </fieldset>
  );
}
