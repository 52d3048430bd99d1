/** kiln's own native reads and writes in a tree that packages have filled: confined to the root, never following a link out, never opening a FIFO. */
export { isMissing, Tree, TreeError, type TreeProblem, type WriteOptions } from './tree.ts';
export { clampTreeTimes, walkTree, type TreeVisitor } from './walk.ts';
