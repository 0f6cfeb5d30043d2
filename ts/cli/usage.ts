/**
 * Usage problems of a command line, named one per line with a suggestion: a
 * mistyped option (`unknown option --modle (did you mean --model?)`) or command
 * (`unknown command registry alais (did you mean alias?)`), reported even when
 * yargs stops at another problem first (a required option missing because it
 * was mistyped: `explain --modle m.json …`).
 */
import { closest, distance } from 'fastest-levenshtein';

/** What the command yargs was parsing knows (read from its yargs instance). */
export interface CommandScope {
  /** The commands matched so far, e.g. `['registry', 'alias']`; `[]` at the top. */
  path: string[];
  /** Option names and aliases it accepts, as declared (`samples-out`, `h`, …). */
  options: string[];
  /** Its subcommands (empty for a leaf command). */
  commands: string[];
}

/** The closest candidate, if it is close enough to be what was meant. */
export function suggestion(word: string, candidates: string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The option name a token sets (`--no-x` sets x, `--a=b` sets a), or undefined for a value. */
function optionName(token: string): string | undefined {
  if (!token.startsWith('-') || token === '-' || /^-\d/.test(token)) return undefined;
  return token.replace(/^--?/, '').split('=')[0];
}

/** Options in `argv` (before `--`) that the scope does not accept, as typed (without dashes). */
export function unknownOptions(argv: string[], scope: CommandScope): string[] {
  const known = new Set(scope.options.flatMap((o) => [o, camel(o), kebab(o)]));
  const unknown: string[] = [];
  for (const token of argv) {
    if (token === '--') break;
    const name = optionName(token);
    if (name === undefined || name === '') continue;
    if (known.has(name) || (name.startsWith('no-') && known.has(name.slice(3)))) continue;
    if (!unknown.includes(name)) unknown.push(name);
  }
  return unknown;
}

/** The word typed where the scope expects a subcommand, if it is not one of them. */
export function unknownCommand(argv: string[], scope: CommandScope): string | undefined {
  if (scope.commands.length === 0) return undefined;
  const end = argv.indexOf('--');
  const words = (end < 0 ? argv : argv.slice(0, end)).filter((a) => !a.startsWith('-'));
  const word = words[scope.path.length];
  return word !== undefined && words.slice(0, scope.path.length).join(' ') === scope.path.join(' ') && !scope.commands.includes(word)
    ? word
    : undefined;
}

/** The arguments yargs names in an "Unknown argument(s): a, b" message. */
function yargsUnknowns(message: string): string[] | undefined {
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  return m ? m[1].split(', ') : undefined;
}

/**
 * The lines describing what is wrong with `argv` in `scope`: unknown commands and
 * options (with suggestions) first, then yargs' own message unless it only
 * repeats them.
 */
export function usageProblems(argv: string[], scope: CommandScope, yargsMessage: string): string[] {
  const where = scope.path.length > 0 ? `${scope.path.join(' ')}: ` : '';
  const lines: string[] = [];
  const covered = new Set<string>();
  const command = unknownCommand(argv, scope);
  if (command !== undefined) {
    const s = suggestion(command, scope.commands);
    lines.push(
      `unknown command ${[...scope.path, command].join(' ')}` +
        (s ? ` (did you mean ${[...scope.path, s].join(' ')}?)` : ` (commands: ${scope.commands.join(', ')})`),
    );
    covered.add(command);
  }
  const names = [...new Set(scope.options.map(kebab))].filter((o) => o.length > 1);
  // after an unknown command its options cannot be checked: they belong to the command meant
  for (const name of command === undefined ? unknownOptions(argv, scope) : []) {
    const s = suggestion(kebab(name), names);
    const dashes = name.length === 1 ? '-' : '--';
    lines.push(`${where}unknown option ${dashes}${name}` + (s ? ` (did you mean --${s}?)` : ' (see --help)'));
    for (const n of [name, camel(name), kebab(name)]) covered.add(n);
  }
  const yargsNamed = yargsUnknowns(yargsMessage);
  // (after an unknown command, yargs also lists the meant command's options as unknown)
  const repeats = yargsNamed !== undefined && (command !== undefined || yargsNamed.every((a) => covered.has(a)));
  if (!repeats) lines.push(`${where}${yargsMessage.replace(/\s*\n\s*/g, ' ')}`);
  return lines;
}

/** The parts of a yargs 17 instance that describe the command being parsed (not in its types). */
interface YargsScope {
  getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> };
  getInternalMethods(): { getContext(): { commands: string[] }; getCommandInstance(): { getCommands(): string[] } };
}

/**
 * The scope of a yargs instance: a command builder's `yargs` argument (the command
 * being parsed) or the top-level instance.
 */
export function scopeOf(yargs: unknown): CommandScope {
  const y = yargs as YargsScope;
  const { key, alias } = y.getOptions();
  const internal = y.getInternalMethods();
  return {
    path: [...internal.getContext().commands],
    options: [...Object.keys(key), ...Object.values(alias).flat()],
    commands: internal.getCommandInstance().getCommands(),
  };
}
