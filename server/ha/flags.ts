/**
 * `skiff server`'s high-availability flags and how they map onto ServerConfig (kept here so
 * main.ts only spreads them in).
 */
import type { FlagSpec, ParsedFlags } from "../../shared/cli_flags.ts";

/** Flags of leader election, the shared trust and managed etcd. */
export const HA_SERVER_FLAGS: Record<string, FlagSpec> = {
  "server-name": {
    type: "string",
    value: "NAME",
    help: "this server's name: Lease holder identity and etcd member name (default: hostname)",
  },
  "leader-elect": {
    type: "boolean",
    help: "run the scheduler and controllers only while holding their Leases (default true)",
  },
  "leader-elect-lease-duration": {
    type: "number",
    value: "SECONDS",
    help:
      "how long standing-by servers wait before taking a Lease that is not renewed (default 15)",
  },
  "leader-elect-renew-deadline": {
    type: "number",
    value: "SECONDS",
    help: "how long a leader tries to renew before it stops acting (default 10)",
  },
  "leader-elect-retry-period": {
    type: "number",
    value: "SECONDS",
    help: "time between tries to acquire or renew a Lease (default 2)",
  },
  "cluster-secret": {
    type: "string",
    value: "SECRET",
    help: "secret shared by every server; encrypts the shared CA and tokens in the datastore",
  },
  "cluster-secret-file": {
    type: "string",
    value: "FILE",
    help: "file holding the cluster secret (instead of --cluster-secret)",
  },
  "cluster-init": {
    type: "boolean",
    help: "start a managed etcd member as the first server of a new HA cluster",
  },
  join: {
    type: "string",
    value: "URL",
    help: "join the managed etcd of the server at URL (https://first:6443); needs --token",
  },
  token: {
    type: "string",
    value: "TOKEN",
    help: "with --join: the join token from the first server's <data-dir>/token",
  },
  leave: {
    type: "boolean",
    help: "remove this server's etcd member from the cluster and exit",
  },
  force: {
    type: "boolean",
    help: "allow an etcd cluster of two members (no majority survives losing either)",
  },
  "etcd-client-port": {
    type: "number",
    value: "PORT",
    help: "managed etcd's client port on the --listen address (default 2379)",
  },
  "etcd-peer-port": {
    type: "number",
    value: "PORT",
    help: "managed etcd's peer port on the --listen address (default 2380)",
  },
};

/** Config keys whose flag is not the key in kebab-case. */
export const HA_FLAG_OF_KEY: Record<string, string> = {
  leaderElectLeaseDurationMs: "leader-elect-lease-duration",
  leaderElectRenewDeadlineMs: "leader-elect-renew-deadline",
  leaderElectRetryPeriodMs: "leader-elect-retry-period",
  joinToken: "token",
};

const seconds = (v: unknown) => v === undefined ? undefined : Math.round(Number(v) * 1000);

/** The ServerConfig fields of the HA flags. */
export function haConfigFrom(flags: ParsedFlags): Record<string, unknown> {
  return {
    serverName: flags["server-name"],
    leaderElect: flags["leader-elect"],
    leaderElectLeaseDurationMs: seconds(flags["leader-elect-lease-duration"]),
    leaderElectRenewDeadlineMs: seconds(flags["leader-elect-renew-deadline"]),
    leaderElectRetryPeriodMs: seconds(flags["leader-elect-retry-period"]),
    clusterSecret: flags["cluster-secret"],
    clusterSecretFile: flags["cluster-secret-file"],
    clusterInit: flags["cluster-init"],
    join: flags.join,
    joinToken: flags.token,
    leave: flags.leave,
    force: flags.force,
    etcdClientPort: flags["etcd-client-port"],
    etcdPeerPort: flags["etcd-peer-port"],
  };
}
