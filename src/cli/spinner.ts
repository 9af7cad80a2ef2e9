// A one-line spinner on a terminal (stderr) while something slow runs; never on a pipe.
import type { Writable } from 'node:stream';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  /** One more account finished (startSpinner's count). */
  done(): void;
  /** Erases the line (before other output); the next tick draws it again. */
  clear(): void;
  stop(): void;
}

/** Draws `text()` after a turning frame every 80 ms until stopped. */
export function spin(stream: Writable, text: () => string): Spinner {
  let frame = 0;
  let shown = false;
  const draw = () => {
    stream.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${text()}`);
    shown = true;
  };
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  return {
    done: () => undefined,
    clear,
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}

/** `mailbox test`: how many of `total` accounts are done. */
export function startSpinner(stream: Writable, total: number): Spinner {
  let finished = 0;
  const spinner = spin(stream, () => `testing ${total} account${total === 1 ? '' : 's'} (${finished} done)`);
  return { ...spinner, done: () => void finished++ };
}
