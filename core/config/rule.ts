export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Refuses the configuration, naming the variable: "invalid configuration:\n  NAME: reason". */
export function refuse(variable: string, reason: string): never {
  throw new ConfigError(`invalid configuration:\n  ${variable}: ${reason}`);
}

/**
 * A rule between variables that zod checks one by one cannot express: a derived default or a
 * relation. It applies to every process whose schema has all the variables it reads, so a
 * process is never refused over variables it does not use.
 */
export interface ConfigRule {
  reads: readonly string[];
  /** returns the derived values to set, or calls `refuse` */
  apply(values: Record<string, unknown>): Record<string, unknown> | undefined;
}

/** Declares a rule over the parsed values of its variables (typed by the piece that holds them). */
export function configRule<V extends Record<string, unknown>>(
  reads: readonly (keyof V & string)[],
  apply: (values: V) => Partial<V> | undefined,
): ConfigRule {
  return { reads, apply: (values) => apply(values as V) };
}
