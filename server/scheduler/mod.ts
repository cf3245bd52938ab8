/**
 * The in-process scheduler (kube-scheduler's job): `runScheduler()` and the framework types for
 * writing plugins.
 */
export { runScheduler, Scheduler, type SchedulerOptions } from "./scheduler.ts";
export type {
  FilterPlugin,
  NodeInfo,
  PodInfo,
  Profile,
  ScheduleResult,
  ScorePlugin,
} from "./framework.ts";
export { schedule } from "./framework.ts";
export { defaultProfile } from "./profile.ts";
