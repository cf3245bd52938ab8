/**
 * The high-availability part of `skiff server`'s configuration (spread into ServerConfig):
 * leader election timing, the server's name, the cluster secret that encrypts shared credentials
 * in the datastore, and the managed-etcd flags (`--cluster-init`, `--join`, `--leave`).
 */
import { z } from "zod";

/** Fields added to ServerConfig. */
export const HaConfigFields = {
  /**
   * This server's name: its Leases' `holderIdentity`, its etcd member name and its entry among the
   * API servers (default: the hostname).
   */
  serverName: z.string().min(1).regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    "must be a DNS subdomain (lower case)",
  ).optional().describe("this server's name: Lease holder identity and etcd member name"),
  /** Run the scheduler and controllers only while holding their Leases (default true). */
  leaderElect: z.boolean().default(true).describe(
    "run the scheduler and controllers only while holding their Leases",
  ),
  /** client-go's LeaseDuration (default 15 s). */
  leaderElectLeaseDurationMs: z.number().int().positive().default(15_000).describe(
    "how long standing-by servers wait before taking a Lease that is not renewed",
  ),
  /** client-go's RenewDeadline (default 10 s). */
  leaderElectRenewDeadlineMs: z.number().int().positive().default(10_000).describe(
    "how long a leader tries to renew before it stops acting",
  ),
  /** client-go's RetryPeriod (default 2 s). */
  leaderElectRetryPeriodMs: z.number().int().positive().default(2_000).describe(
    "time between tries to acquire or renew a Lease",
  ),
  /**
   * The secret every server of one cluster is started with (`--cluster-secret`); the key that
   * encrypts the shared credentials in the datastore is derived from it.
   */
  clusterSecret: z.string().min(16, "must be at least 16 characters").optional().describe(
    "secret shared by every server; encrypts the shared CA and tokens in the datastore",
  ),
  /** A file holding the cluster secret (`--cluster-secret-file`). */
  clusterSecretFile: z.string().min(1).optional().describe(
    "file holding the cluster secret (instead of --cluster-secret)",
  ),
  /** Start a managed etcd member as the first of a new cluster (`--cluster-init`). */
  clusterInit: z.boolean().default(false).describe(
    "start a managed etcd member as the first server of a new HA cluster",
  ),
  /** `--join https://first:6443`: add a managed etcd member to that server's cluster. */
  join: z.string().url().optional().describe(
    "join the managed etcd of the server at URL (https://first:6443); needs --token",
  ),
  /** `--token`: the join token of the server given to `--join`. */
  joinToken: z.string().min(1).optional().describe(
    "with --join: the join token from the first server's <data-dir>/token",
  ),
  /** `--leave`: remove this server's etcd member from the cluster, then exit. */
  leave: z.boolean().default(false).describe(
    "remove this server's etcd member from the cluster and exit",
  ),
  /** Allow a cluster of two etcd members (no majority survives losing either). */
  force: z.boolean().default(false).describe(
    "allow an etcd cluster of two members (no majority survives losing either)",
  ),
  /** Managed etcd's client port (default 2379) on the address of `--listen`. */
  etcdClientPort: z.number().int().min(1).max(65535).default(2379).describe(
    "managed etcd's client port on the --listen address",
  ),
  /** Managed etcd's peer port (default 2380) on the address of `--listen`. */
  etcdPeerPort: z.number().int().min(1).max(65535).default(2380).describe(
    "managed etcd's peer port on the --listen address",
  ),
};

interface HaConfigValues {
  leaderElectLeaseDurationMs: number;
  leaderElectRenewDeadlineMs: number;
  leaderElectRetryPeriodMs: number;
  clusterInit: boolean;
  join?: string;
  joinToken?: string;
  datastoreEndpoint?: string;
  clusterSecret?: string;
  clusterSecretFile?: string;
}

/** Cross-field rules (client-go's timing checks, flags that exclude each other). */
export function refineHaConfig(c: HaConfigValues, ctx: z.RefinementCtx): void {
  if (c.leaderElectLeaseDurationMs <= c.leaderElectRenewDeadlineMs) {
    ctx.addIssue({
      code: "custom",
      path: ["leaderElectLeaseDurationMs"],
      message: "must be greater than the renew deadline",
    });
  }
  if (c.leaderElectRenewDeadlineMs <= 1.2 * c.leaderElectRetryPeriodMs) {
    ctx.addIssue({
      code: "custom",
      path: ["leaderElectRenewDeadlineMs"],
      message: "must be greater than 1.2 × the retry period",
    });
  }
  if ((c.clusterInit || c.join) && c.datastoreEndpoint) {
    ctx.addIssue({
      code: "custom",
      path: ["datastoreEndpoint"],
      message: "cannot be combined with --cluster-init or --join (managed etcd)",
    });
  }
  if (c.clusterInit && c.join) {
    ctx.addIssue({
      code: "custom",
      path: ["join"],
      message: "cannot be combined with --cluster-init",
    });
  }
  if (c.join && !c.joinToken) {
    ctx.addIssue({ code: "custom", path: ["joinToken"], message: "is required with --join" });
  }
  if (c.clusterSecret && c.clusterSecretFile) {
    ctx.addIssue({
      code: "custom",
      path: ["clusterSecretFile"],
      message: "cannot be combined with --cluster-secret",
    });
  }
}
