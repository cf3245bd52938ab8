/**
 * `skiff server`'s high-availability flags and how they map onto ServerConfig (kept here so
 * main.ts only spreads them in); their help and defaults are the fields' in ha/config.ts.
 */
import { flagOf, type FlagSpec, type ParsedFlags } from "../../shared/cli_flags.ts";
import { HaConfigFields as F } from "./config.ts";

/** A duration field in milliseconds, given on the command line in seconds. */
const SECONDS = { value: "SECONDS", showDefault: (ms: number) => String(ms / 1000) };

/** Flags of leader election, the shared trust and managed etcd. */
export const HA_SERVER_FLAGS: Record<string, FlagSpec> = {
  "server-name": flagOf(F.serverName, { value: "NAME", defaultText: "hostname" }),
  "leader-elect": flagOf(F.leaderElect),
  "leader-elect-lease-duration": flagOf(F.leaderElectLeaseDurationMs, SECONDS),
  "leader-elect-renew-deadline": flagOf(F.leaderElectRenewDeadlineMs, SECONDS),
  "leader-elect-retry-period": flagOf(F.leaderElectRetryPeriodMs, SECONDS),
  "cluster-secret": flagOf(F.clusterSecret, { value: "SECRET" }),
  "cluster-secret-file": flagOf(F.clusterSecretFile, { value: "FILE" }),
  "cluster-init": flagOf(F.clusterInit),
  join: flagOf(F.join, { value: "URL" }),
  token: flagOf(F.joinToken, { value: "TOKEN" }),
  leave: flagOf(F.leave),
  force: flagOf(F.force),
  "etcd-client-port": flagOf(F.etcdClientPort, { value: "PORT" }),
  "etcd-peer-port": flagOf(F.etcdPeerPort, { value: "PORT" }),
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
