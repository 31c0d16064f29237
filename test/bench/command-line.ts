// What a bench reads from its command line: --json for one JSON document on stdout and nothing
// else, and numeric options such as --machines N.
const args = process.argv.slice(2);

/** Whether the bench was asked for JSON only. */
export const json = args.includes('--json');

/** The number after `name` on the command line, or `fallback` when it is not there. */
export function numberOption(name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}
