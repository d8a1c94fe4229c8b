import { ConfigurationError } from './errors.js';

/** The parameters that choose which token is requested, normalized so equal requests compare equal. */
export interface TokenParams {
  audience: string | undefined;
  organization: string | undefined;
  /** Deduplicated and sorted. */
  scope: readonly string[];
  /** Deduplicated and sorted. */
  resource: readonly string[];
  /** Sorted by name; values keep their order. */
  extraParams: readonly (readonly [name: string, values: readonly string[]])[];
}

interface TokenParamsInput {
  audience?: unknown;
  organization?: unknown;
  scope?: unknown;
  resource?: unknown;
  extraParams?: unknown;
}

/** Form parameters the client owns: `extraParams` may not set them. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set([
  'grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type',
  'audience', 'organization', 'scope', 'resource',
]);

const OPTION_FOR_PARAM: Record<string, string> = {
  audience: 'use the audience option',
  organization: 'use the organization option',
  scope: 'use the scope option',
  resource: 'use the resource option',
};

/** Validates and normalizes one set of token parameters. `prefix` names where they came from in errors. */
export function normalizeTokenParams(input: TokenParamsInput, prefix: string): TokenParams {
  return {
    audience: optionalText(input.audience, `${prefix}audience`),
    organization: optionalText(input.organization, `${prefix}organization`),
    scope: sortedUnique(input.scope, `${prefix}scope`, /\s+/),
    resource: sortedUnique(input.resource, `${prefix}resource`, undefined),
    extraParams: input.extraParams === undefined ? [] : normalizeExtraParams(input.extraParams, `${prefix}extraParams`),
  };
}

/** Per-call values override the defaults field by field; extra parameters merge by name. */
export function mergeTokenParams(defaults: TokenParams, call: TokenParamsInput): TokenParams {
  const given = normalizeTokenParams(call, 'getToken.');
  let extraParams = defaults.extraParams;
  if (given.extraParams.length > 0) {
    const merged = new Map(defaults.extraParams);
    for (const [name, values] of given.extraParams) merged.set(name, values);
    extraParams = [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return {
    audience: call.audience === undefined ? defaults.audience : given.audience,
    organization: call.organization === undefined ? defaults.organization : given.organization,
    scope: call.scope === undefined ? defaults.scope : given.scope,
    resource: call.resource === undefined ? defaults.resource : given.resource,
    extraParams,
  };
}

function optionalText(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ConfigurationError(option, 'must be a non-empty string');
  return value;
}

function sortedUnique(value: unknown, option: string, splitter: RegExp | undefined): readonly string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
    throw new ConfigurationError(option, 'must be a string or an array of strings');
  }
  const items = splitter ? list.flatMap((v: string) => v.split(splitter)).filter((v) => v !== '') : (list as string[]);
  if (items.includes('')) throw new ConfigurationError(option, 'must not contain empty strings');
  return [...new Set(items)].sort();
}

function normalizeExtraParams(value: unknown, option: string): TokenParams['extraParams'] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(option, 'must be an object of parameter names to string values');
  }
  const entries: [string, readonly string[]][] = [];
  for (const [name, raw] of Object.entries(value)) {
    if (RESERVED_PARAMS.has(name)) {
      throw new ConfigurationError(
        `${option}.${name}`,
        `'${name}' is set by the client and may not be overridden through extraParams; ${OPTION_FOR_PARAM[name] ?? 'it comes from the client options'} (reserved: ${[...RESERVED_PARAMS].join(', ')})`,
      );
    }
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new ConfigurationError(`${option}.${name}`, 'must be a string or an array of strings');
    }
    entries.push([name, Object.freeze([...values as string[]])]);
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
