/**
 * Resolved layer configurations: every value a number, every name resolved. Each kind declares
 * its own in `src/layers/` (with its shape rule, counts and code); this module re-exports them
 * for the checker's users. Shapes leave the batch dimension out.
 */
export type * from "../layers/types.js";
