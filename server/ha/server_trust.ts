/**
 * When a server shares its trust: with a datastore other servers can reach (`--datastore-endpoint`
 * or managed etcd) and a cluster secret. Without a secret the credentials stay in the data dir
 * alone (one server per datastore, as before), and the server says so.
 */
import type { Logger } from "../../shared/log.ts";
import type { Backend } from "../store/backend.ts";
import { clusterSecretFrom, SharedTrust } from "./shared_trust.ts";

/** The config fields read here. */
export interface TrustConfig {
  dataDir: string;
  datastoreEndpoint?: string;
  clusterSecret?: string;
  clusterSecretFile?: string;
  clusterInit: boolean;
  join?: string;
}

/** Pulls the cluster's credentials into the data dir when shared; undefined when not shared. */
export async function openSharedTrust(
  config: TrustConfig,
  backend: Backend,
  logger: Logger,
): Promise<SharedTrust | undefined> {
  const managed = config.clusterInit || config.join !== undefined;
  if (!config.datastoreEndpoint && !managed) return undefined;
  const secret = await clusterSecretFrom({ ...config, generate: config.clusterInit });
  if (!secret) {
    logger.warn(
      "no --cluster-secret: this server's CA and tokens stay in its data dir; a second server on " +
        "this datastore would have its own (give every server the same --cluster-secret)",
    );
    return undefined;
  }
  return await SharedTrust.pull({ backend, secret, dataDir: config.dataDir, logger });
}
