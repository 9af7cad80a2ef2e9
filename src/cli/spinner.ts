// A one-line spinner on a terminal (stderr) while accounts are being tested; never on a pipe.
import type { Writable } from 'node:stream';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  /** One more account finished. */
  done(): void;
  /** Erases the line (before other output); the next tick draws it again. */
  clear(): void;
  stop(): void;
}

export function startSpinner(stream: Writable, total: number): Spinner {
  let frame = 0;
  let finished = 0;
  let shown = false;
  const draw = () => {
    stream.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} testing ${total} account${total === 1 ? '' : 's'} (${finished} done)`);
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
    done: () => void finished++,
    clear,
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}
