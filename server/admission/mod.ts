/**
 * Validating admission: the checks that run on every create and update after validation and
 * before storage. `podSpecSupportAdmission` refuses pod-spec fields the node does not honour;
 * `podSecurityAdmission` is Kubernetes' Pod Security admission.
 */
export { type AdmissionAttributes, admissionChain, type AdmissionPlugin } from "./admission.ts";
export { podSecurityAdmission } from "./pod_security.ts";
export { PodSecurityConfiguration, SKIFF_POD_SECURITY } from "./pod_security_configuration.ts";
export { parsePodSecurityConfigFile } from "./pod_security_config_file.ts";
export { podSpecSupportAdmission, refusedFields } from "./pod_spec_support.ts";
