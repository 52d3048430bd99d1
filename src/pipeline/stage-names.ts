/** The names of the build's stages, in order (no imports: the settings table uses them too). */
export const STAGES = ['resolve', 'fetch', 'unpack', 'configure', 'customize', 'prune', 'finalize', 'output'] as const;
export type StageName = (typeof STAGES)[number];

/** Stages that change the tree, in order; they run inside the namespace. */
export const TREE_STAGES = ['unpack', 'configure', 'customize', 'prune', 'finalize'] as const satisfies readonly StageName[];
export type TreeStage = (typeof TREE_STAGES)[number];

/** Stages with a key: the tree stages and the output; each is a module of stages/ and runs in the namespace. */
export const KEYED_STAGES = [...TREE_STAGES, 'output'] as const satisfies readonly StageName[];
export type KeyedStage = (typeof KEYED_STAGES)[number];

/**
 * Tree stages whose result is stored. Not unpack: restoring a stored tree
 * costs what unpacking the packages again does.
 */
export const CHECKPOINTED: readonly TreeStage[] = ['configure', 'customize', 'prune', 'finalize'];

/** Hook directories: a tree stage, the output, and the two that follow a build. */
export const HOOK_STAGES = [...TREE_STAGES, 'output', 'publish', 'error'] as const;
export type HookStage = (typeof HOOK_STAGES)[number];


/** Short form of a stage key for messages. */
export function shortKey(key: string): string {
  return key.slice(0, 12);
}
