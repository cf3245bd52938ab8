/**
 * Pod Security admission's configuration (upstream's PodSecurityConfiguration: `defaults` and
 * `exemptions`), and Skiff's cluster default. Kept apart from the plugin so that the server's
 * config schema can name it without loading the checks.
 */
import { z } from "zod";
import { parseLevel, parseVersion } from "./pod_security_policy.ts";

const LevelName = z.string().refine((v) => !parseLevel(v).error, {
  message: "must be one of privileged, baseline, restricted",
});
const VersionName = z.string().refine((v) => !parseVersion(v).error, {
  message: 'must be "latest" or "v1.x"',
});

/**
 * The admission configuration of Pod Security (upstream's `PodSecurityConfiguration`, the
 * `defaults` and `exemptions.namespaces` parts). Unset defaults are `privileged`/`latest`, as
 * upstream; Skiff's server config supplies `baseline` (see {@linkcode SKIFF_POD_SECURITY}).
 */
export const PodSecurityConfiguration = z.object({
  defaults: z.object({
    enforce: LevelName.default("privileged"),
    "enforce-version": VersionName.default("latest"),
    audit: LevelName.default("privileged"),
    "audit-version": VersionName.default("latest"),
    warn: LevelName.default("privileged"),
    "warn-version": VersionName.default("latest"),
  }).strict().prefault({}),
  exemptions: z.object({
    namespaces: z.array(z.string().min(1)).default([]),
    // Upstream's other exemptions need request users and RuntimeClasses, which Skiff does not
    // pass to admission / serve: only an empty list is accepted.
    usernames: z.array(z.string()).max(0, "not supported by Skiff").optional(),
    runtimeClasses: z.array(z.string()).max(0, "not supported by Skiff").optional(),
  }).strict().prefault({}),
}).strict();
/** Parsed PodSecurityConfiguration. */
export type PodSecurityConfiguration = z.infer<typeof PodSecurityConfiguration>;

/** Skiff's cluster default: `baseline` in every namespace but kube-system. */
export const SKIFF_POD_SECURITY: PodSecurityConfiguration = PodSecurityConfiguration.parse({
  defaults: { enforce: "baseline", audit: "baseline", warn: "baseline" },
  exemptions: { namespaces: ["kube-system"] },
});
