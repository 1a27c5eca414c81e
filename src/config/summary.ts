/**
 * What a reload says in its log line: how many objects of each kind are in force, and a bounded
 * sample of the errors. A line listing every pool name grew with the configuration and was
 * written on every reload (124 MB of log for 10,000 pools applied one by one); the names are in
 * the API, the counts are what an operator compares between reloads.
 */
import { formatConfigError } from './scope';
import type { Config, ConfigError } from './types';

/** Objects in force per kind. */
export interface ConfigCounts {
  readonly pools: number;
  readonly peers: number;
  readonly bfdProfiles: number;
  readonly communities: number;
  readonly l2Advertisements: number;
  readonly bgpAdvertisements: number;
}

/** Count what a Config holds. */
export function configCounts(config: Config): ConfigCounts {
  return {
    pools: config.pools.size,
    peers: config.peers.length,
    bfdProfiles: config.bfdProfiles.size,
    communities: config.communityAliases.size,
    l2Advertisements: config.l2Advertisements.length,
    bgpAdvertisements: config.bgpAdvertisements.length,
  };
}

/** Errors a log line carries at most; the count says how many there were. */
export const LOGGED_ERRORS_MAX = 10;

/** The first errors, each naming its object ("IPAddressPool/x: ..."), and how many were left out. */
export function errorSample(errors: readonly ConfigError[], max = LOGGED_ERRORS_MAX): { errors: string[]; errorCount: number; omitted: number } {
  return { errors: errors.slice(0, max).map(formatConfigError), errorCount: errors.length, omitted: Math.max(0, errors.length - max) };
}
