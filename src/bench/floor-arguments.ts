/**
 * The command line of the bench's floor processes (latency-floor, drain-floor, handoff-floor): `--name value`
 * pairs, each required. A missing one is a bug of the bench that started the process, so it throws with the name.
 *
 * Runtime: node.
 */
export function requiredArgument(floor: string, name: string): string {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  if (value === undefined) throw new Error(`${floor}: ${name} is required`);
  return value;
}
