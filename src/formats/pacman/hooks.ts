/**
 * ALPM hooks: the hook file parser (hook-parse.ts), the trigger matcher
 * (hook-match.ts), and the fnmatch(3) globs both go by (src/util/fnmatch.ts).
 */
export { compareCodePoints, HOOK_DIRS, loadHooks, parseHook, splitExec } from './hook-parse.ts';
export type { AlpmHook, HookFile, HookOperation, HookSet, HookTrigger, HookTriggerType, HookWhen, ParsedHook } from './hook-parse.ts';
export { describeHookRun, HOOK_PHASE_TITLES, matchHooks } from './hook-match.ts';
export type { HookPackage, HookRun, HookTransaction } from './hook-match.ts';
