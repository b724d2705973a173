import type { VehicleView } from "../use-vehicles.ts";

/** A "Vehicle" picker over the registry: name (id), or the id of an unnamed vehicle. */
export function VehicleSelect(props: {
  vehicles: VehicleView[];
  value: string;
  onChange: (id: string) => void;
  /** the text of the empty choice ("choose…", "All vehicles") */
  empty: string;
  required?: boolean;
}) {
  return (
    <label>
      Vehicle
      <select
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        required={props.required ?? false}
      >
        <option value="">{props.empty}</option>
        {props.vehicles.map((v) => (
          <option key={v.id} value={v.id}>
            {v.name ? `${v.name} (${v.id})` : v.id}
          </option>
        ))}
      </select>
    </label>
  );
}
