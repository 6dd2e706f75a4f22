/** Structured JSON log lines on stderr; a message id and stage go in `fields`, never a body. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = LEVELS[level];
  const emit = (at: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[at] < threshold) return;
    const record = { time: new Date().toISOString(), level: at, msg: message, ...base, ...fields };
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

/** A logger that writes nothing, for tests and benchmarks. */
export const silentLogger: Logger = createLogger("error", {}, () => undefined);
