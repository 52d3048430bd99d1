/**
 * What `kiln boot` does on the serial console, as a state machine fed the
 * console's output a piece at a time (pure, so a test can feed it a fake
 * stream): --expect waits for a text; --login logs in when "login:" shows,
 * answers "Password:", waits for the shell's prompt and types --run's
 * command between two markers, whose typed form differs from their printed
 * form (the shell joins "@@KILN""-BEGIN@@"), so the echo of the typed line
 * is never taken for the output.
 */

export type ConsoleGoal = { expect: string } | { login: { user: string; password: string }; run: string };

export type ConsoleStep =
  /** Type this on the console. */
  | { kind: 'send'; text: string }
  /** Stop: the goal was reached (code 0) or cannot be (1). */
  | { kind: 'done'; code: number; message: string; output?: string; status?: number };

const BEGIN = '@@KILN-BEGIN@@';
const END = '@@KILN-END@@';
/** ANSI escape sequences, as getty and systemd colour them, and carriage returns. */
const NOISE = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g;

/** The line typed to run `command` and print its output between the markers and then its status. */
export const runLine = (command: string): string => `printf '%s\\n' "@@KILN""-BEGIN@@"; ${command}; printf '%s %s\\n' "@@KILN""-END@@" "$?"\n`;

type Phase = 'login' | 'password' | 'prompt' | 'output';

export class ConsoleScript {
  private seen = '';
  private phase: Phase = 'login';
  /** Where in `seen` the current phase started looking (text before it was answered already). */
  private from = 0;

  constructor(private readonly goal: ConsoleGoal) {}

  /** The console's next piece of output; returns what to do, in order. */
  feed(chunk: string): ConsoleStep[] {
    this.seen += chunk.replace(NOISE, '');
    if ('expect' in this.goal) {
      return this.seen.includes(this.goal.expect) ? [{ kind: 'done', code: 0, message: `saw "${this.goal.expect}" on the console` }] : [];
    }
    return this.advance(this.goal);
  }

  private advance(goal: Extract<ConsoleGoal, { login: unknown }>): ConsoleStep[] {
    const steps: ConsoleStep[] = [];
    for (;;) {
      const rest = this.seen.slice(this.from);
      if (this.phase !== 'output' && /Login incorrect/.test(rest)) return [...steps, { kind: 'done', code: 1, message: `login as ${goal.login.user} failed: "Login incorrect"` }];
      const at = (re: RegExp) => {
        const m = re.exec(rest);
        return m ? this.from + m.index + m[0].length : undefined;
      };
      let end: number | undefined;
      if (this.phase === 'login' && (end = at(/login: ?$/m)) !== undefined) {
        steps.push({ kind: 'send', text: `${goal.login.user}\n` });
        this.phase = 'password';
      } else if (this.phase === 'password' && (end = at(/[Pp]assword: ?$/m)) !== undefined) {
        steps.push({ kind: 'send', text: `${goal.login.password}\n` });
        this.phase = 'prompt';
      } else if (this.phase === 'prompt' && (end = at(/[#$] $/)) !== undefined) {
        steps.push({ kind: 'send', text: runLine(goal.run) });
        this.phase = 'output';
      } else if (this.phase === 'output') {
        const begin = rest.indexOf(`${BEGIN}\n`);
        const tail = begin < 0 ? -1 : rest.indexOf(`${END} `, begin);
        const status = tail < 0 ? undefined : /^(\d+)\n/.exec(rest.slice(tail + END.length + 1));
        if (!status) return steps;
        const output = rest.slice(begin + BEGIN.length + 1, tail);
        return [...steps, { kind: 'done', code: 0, message: `ran the command as ${goal.login.user}; it exited with ${status[1]}`, output, status: Number(status[1]) }];
      } else {
        return steps;
      }
      this.from = end;
    }
  }
}
