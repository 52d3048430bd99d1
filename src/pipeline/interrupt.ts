/**
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP while kiln works on the host side of a
 * build (resolve, fetch, verify): without a handler Node ends at once and
 * leaves the downloads' `.part` temporaries behind. With one, the signal
 * aborts an AbortSignal that every download and index fetch listens to: they
 * stop, remove their temporaries, and the build ends with "interrupted by
 * SIGINT". A second signal ends kiln at once, as before. Inside the
 * namespace, runJob handles the signals itself.
 */
import { BuildError } from '../util/errors.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export class InterruptGuard {
  readonly #controller = new AbortController();
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.dispose(); // the next one takes the default action
    this.#controller.abort(new BuildError(`interrupted by ${signal}`, 'nothing was left behind; run the build again to finish it'));
  };

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.#onSignal);
  }

  /** Aborted by the first signal, with the build's error as its reason. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Throws the interruption if there was one (for work that did not listen to the signal). */
  check(): void {
    this.#controller.signal.throwIfAborted();
  }

  dispose(): void {
    for (const signal of SIGNALS) process.off(signal, this.#onSignal);
  }
}
