/**
 * `skiff server`'s high-availability flags and how they map onto ServerConfig (kept here so
 * main.ts only spreads them in); their help and defaults are the fields' in ha/config.ts.
 */
import {
  type FlagInput,
  flagOf,
  type FlagSpec,
  FROM_SECONDS,
  fromFlag,
  type ParsedFlags,
  SECONDS_FLAG,
} from "../../shared/cli_flags.ts";
import { HaConfigFields as F } from "./config.ts";

/** Flags of leader election, the shared trust and managed etcd. */
export const HA_SERVER_FLAGS: Record<string, FlagSpec> = {
  "server-name": flagOf(F.serverName, { value: "NAME", defaultText: "hostname" }),
  "leader-elect": flagOf(F.leaderElect),
  "leader-elect-lease-duration": flagOf(F.leaderElectLeaseDurationMs, SECONDS_FLAG),
  "leader-elect-renew-deadline": flagOf(F.leaderElectRenewDeadlineMs, SECONDS_FLAG),
  "leader-elect-retry-period": flagOf(F.leaderElectRetryPeriodMs, SECONDS_FLAG),
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

/** The ServerConfig fields of the HA flags. */
export function haConfigFrom(flags: ParsedFlags): Record<string, FlagInput> {
  return {
    serverName: fromFlag(flags, "server-name"),
    leaderElect: fromFlag(flags, "leader-elect"),
    leaderElectLeaseDurationMs: fromFlag(flags, "leader-elect-lease-duration", FROM_SECONDS),
    leaderElectRenewDeadlineMs: fromFlag(flags, "leader-elect-renew-deadline", FROM_SECONDS),
    leaderElectRetryPeriodMs: fromFlag(flags, "leader-elect-retry-period", FROM_SECONDS),
    clusterSecret: fromFlag(flags, "cluster-secret"),
    clusterSecretFile: fromFlag(flags, "cluster-secret-file"),
    clusterInit: fromFlag(flags, "cluster-init"),
    join: fromFlag(flags, "join"),
    joinToken: fromFlag(flags, "token"),
    leave: fromFlag(flags, "leave"),
    force: fromFlag(flags, "force"),
    etcdClientPort: fromFlag(flags, "etcd-client-port"),
    etcdPeerPort: fromFlag(flags, "etcd-peer-port"),
  };
}
