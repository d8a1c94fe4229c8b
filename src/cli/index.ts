#!/usr/bin/env node
// The m2m-token command line. This file loads only node:util: `--help` and `--version` print without
// loading the library or jose, which the commands import on first use (./commands.ts).
import { parseArgs } from 'node:util';
import { PACKAGE_VERSION } from '../version.js';
import { HELP } from './help.js';
import { COMMANDS, EXIT, UsageError, type Command, type ParsedValues } from './shared.js';

const CONFIG_OPTIONS = {
  domain: { type: 'string' },
  issuer: { type: 'string' },
  'token-endpoint': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-file': { type: 'string' },
  'private-key-file': { type: 'string' },
  'auth-method': { type: 'string' },
  audience: { type: 'string' },
  organization: { type: 'string' },
  scope: { type: 'string' },
} as const;

const OPTIONS = {
  ...CONFIG_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  raw: { type: 'boolean' },
  jwks: { type: 'string' },
} as const;

// Options that would carry a secret: refused, whatever the command.
const SECRET_ARGUMENT = /^--(client-secret|secret|private-key|client-assertion|password|key|token|access-token)(=|$)/;

const allowed: Record<Command, readonly string[]> = {
  token: [...Object.keys(CONFIG_OPTIONS), 'json', 'raw'],
  header: Object.keys(CONFIG_OPTIONS),
  decode: ['jwks', 'issuer', 'audience', 'json'],
  doctor: [...Object.keys(CONFIG_OPTIONS), 'json'],
};

function parse(argv: string[]): { command: Command | undefined; values: ParsedValues; positionals: string[] } {
  for (const arg of argv) {
    const match = SECRET_ARGUMENT.exec(arg);
    if (match) {
      const name = match[1]!;
      const via = name === 'private-key'
        ? 'M2M_PRIVATE_KEY, M2M_PRIVATE_KEY_FILE, or --private-key-file <path> (- for standard input)'
        : 'M2M_CLIENT_SECRET, M2M_CLIENT_SECRET_FILE, or --client-secret-file <path> (- for standard input)';
      throw new UsageError(`--${name} is refused: a secret on the command line shows in \`ps\` and shell history. Use ${via}.`);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [first, ...rest] = parsed.positionals;
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}: one of ${COMMANDS.join(', ')} (m2m-token --help)`);
  }
  const command = first as Command | undefined;
  const values = parsed.values as ParsedValues;
  if (command !== undefined && values.help !== true) {
    for (const name of Object.keys(values)) {
      if (name !== 'help' && name !== 'version' && !allowed[command].includes(name)) {
        throw new UsageError(`option --${name} does not apply to \`${command}\` (m2m-token ${command} --help)`);
      }
    }
    if (command !== 'decode' && rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])} (m2m-token ${command} --help)`);
    if (command === 'decode' && rest.length > 1) throw new UsageError('decode takes one JWT (or - for standard input)');
  }
  return { command, values, positionals: rest };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (error) {
    process.stderr.write(`m2m-token: ${(error as Error).message}\n`);
    return EXIT.USAGE;
  }
  const { command, values, positionals } = args;
  if (values.version) {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return EXIT.OK;
  }
  if (values.help || command === undefined) {
    (command === undefined && !values.help ? process.stderr : process.stdout).write(`${HELP[command ?? 'main']}\n`);
    return command === undefined && !values.help ? EXIT.USAGE : EXIT.OK;
  }
  const { run } = await import('./commands.js');
  return run(command, values, positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`m2m-token: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
