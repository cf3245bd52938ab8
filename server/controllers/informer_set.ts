/**
 * Moved to shared/informer_set.ts (the scheduler and the controllers share it); this re-export
 * keeps older imports working.
 */
export { InformerSet } from "../../shared/informer_set.ts";
