import pino from 'pino';

/** The logger type every component receives; components never build their own root logger. */
export type Logger = pino.Logger;

/** Upstream MetalLB's --log-level values; `all` is upstream's most verbose level. */
export const LogLevels = ['all', 'debug', 'info', 'warn', 'error', 'none'] as const;
export type LogLevel = (typeof LogLevels)[number];

function pinoLevel(level: LogLevel): pino.LevelWithSilent {
  switch (level) {
    case 'all':
      return 'trace';
    case 'none':
      return 'silent';
    default:
      return level;
  }
}

/**
 * Build the one root logger of a process (only main.ts and tests call this).
 * Secrets are redacted by path as a second line of defence: code never logs them on purpose.
 */
export function createRootLogger(
  level: LogLevel = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: pinoLevel(level),
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'md5Password', '*.md5Password', 'secret'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that discards everything, for unit tests of components that require one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
