/**
 * The quota system Kubernetes splits between kube-apiserver and kube-controller-manager: what
 * objects cost a ResourceQuota (evaluators.ts), the admission decision for one write
 * (check_request.ts) and the measured usage the quota controller writes (calculate_usage.ts),
 * over exact resource lists (resource_list.ts).
 */
export { calculateUsage, type QuotaUsage, type UsageSource } from "./calculate_usage.ts";
export { checkRequest, type QuotaRequest } from "./check_request.ts";
export {
  type Evaluator,
  evaluatorFor,
  evaluatorsFor,
  isIgnoredResource,
  objectCountName,
  type Operation,
  parseObjectCountName,
  podChargeEnd,
  quotaMatches,
} from "./evaluators.ts";
export {
  type Amount,
  equalUsage,
  formatUsage,
  parseUsage,
  subtractNonNegative,
  type Usage,
} from "./resource_list.ts";
