import { formatCount, plural } from "../protocol/words.js";

const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

export interface ProgressState {
  /** Items handled so far (lines, dead letters), shown with their rate. */
  items: number;
  /** How far along, in the unit of the total (bytes read, items): the percentage, when known. */
  done: number;
}

/** A one-line progress display on a TTY stream; does nothing on a pipe or file. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number | undefined;
  readonly #unit: string;
  readonly #enabled: boolean;
  readonly #started = Date.now();
  #lastDraw = 0;
  #shown = false;
  #state: ProgressState = { items: 0, done: 0 };

  /** `total` is what `done` counts up to, when known (a file's size); `unit` names one item. */
  constructor(stream: NodeJS.WriteStream, total: number | undefined, unit = "line") {
    this.#stream = stream;
    this.#total = total !== undefined && total > 0 ? total : undefined;
    this.#unit = unit;
    this.#enabled = stream.isTTY === true;
  }

  /** Records progress; redraws at most ~10 times a second. */
  update(state: ProgressState): void {
    this.#state = state;
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#lastDraw < REDRAW_INTERVAL_MS) return;
    this.#lastDraw = now;
    this.#draw(now);
  }

  /** Writes a line (such as an error) above the bar, which is redrawn at the next update. */
  log(line: string): void {
    this.#clear();
    this.#stream.write(`${line}\n`);
  }

  /** Removes the bar, leaving the terminal as it was. */
  finish(): void {
    this.#clear();
  }

  #draw(now: number): void {
    const { items, done } = this.#state;
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? items / seconds : 0;
    const parts: string[] = [];
    if (this.#total !== undefined) {
      const fraction = Math.min(1, done / this.#total);
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`);
      parts.push(`${Math.floor(fraction * 100)}%`.padStart(4));
    }
    parts.push(plural(items, this.#unit), `${formatCount(rate)}/s`, `${seconds.toFixed(1)}s`);
    const columns = this.#stream.columns ?? 80;
    this.#stream.write(`\r${parts.join("  ").slice(0, columns - 1)}\x1b[K`);
    this.#shown = true;
  }

  #clear(): void {
    if (!this.#shown) return;
    this.#stream.write("\r\x1b[K");
    this.#shown = false;
  }
}
