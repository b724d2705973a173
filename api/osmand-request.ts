/** An OsmAnd request as the bridge is to see it: the device key taken out of what it carries. */
export interface OsmAndRequest {
  /** the device key the request names (`id`, `deviceid`, or the JSON form's `device_id`) */
  key: string | undefined;
  /**
   * what goes to the bridge: a JSON object of the parameters, or the JSON body, without the key
   * (the dead letter shows it to every viewer); a body that is not JSON goes as it came
   */
  payload: Buffer;
}

const KEY_PARAMS = ["id", "deviceid"];

/** Traccar Client's JSON is 3 levels deep; deeper than this is not a location */
export const MAX_JSON_DEPTH = 32;

/**
 * JSON.stringify with every object or array deeper than MAX_JSON_DEPTH replaced by a string
 * saying so: JSON.stringify recurses, and a body of a few thousand `[` (which JSON.parse reads)
 * overflows the stack. The bridge then rejects the payload by its usual rules, with the marker
 * showing in the dead letter.
 */
function stringifyShallow(value: unknown): string {
  const depths = new Map<object, number>();
  return JSON.stringify(value, function (this: object, key: string, v: unknown) {
    if (typeof v !== "object" || v === null) return v;
    const depth = key === "" && !depths.has(this) ? 0 : (depths.get(this) ?? 0) + 1;
    if (depth > MAX_JSON_DEPTH)
      return `${Array.isArray(v) ? "an array" : "an object"} nested too deep to show`;
    depths.set(v, depth);
    return v;
  });
}

/**
 * Reads an OsmAnd request as Traccar's server does (its published OsmAnd protocol description): parameters in the query,
 * or, when the query has none, in a form body; or the JSON body Traccar Client 9 and later POST
 * (`{"location": {...}, "device_id": "..."}`), told by its content type or its opening brace.
 */
export function readOsmAndRequest(
  url: string,
  contentType: string | undefined,
  body: Buffer | undefined,
): OsmAndRequest {
  const q = url.indexOf("?");
  const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  const queryKey = keyOf(query);
  const text = body && body.length > 0 ? body.toString("utf8") : "";
  if (text !== "" && (contentType?.includes("json") || text.trimStart().startsWith("{"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // the bridge records it as E_BAD_JSON, when the query named the device
      return { key: queryKey, payload: body as Buffer };
    }
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const { device_id: bodyKey, ...rest } = parsed as Record<string, unknown>;
      return {
        key: queryKey ?? (typeof bodyKey === "string" ? bodyKey : undefined),
        payload: Buffer.from(stringifyShallow(rest)),
      };
    }
    return { key: queryKey, payload: Buffer.from(text) };
  }
  const params = [...query.keys()].length > 0 || text === "" ? query : new URLSearchParams(text);
  // no prototype: a parameter named `constructor` or `__proto__` is a parameter like any other
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of params) if (!KEY_PARAMS.includes(name)) fields[name] ??= value;
  return { key: keyOf(params), payload: Buffer.from(JSON.stringify(fields)) };
}

function keyOf(params: URLSearchParams): string | undefined {
  for (const name of KEY_PARAMS) {
    const v = params.get(name);
    if (v !== null && v !== "") return v;
  }
  return undefined;
}
