/**
 * The cluster's default address ranges (k3s's): the server allocates from them, and a node falls
 * back to them when neither its join nor a flag named the cluster's own.
 */

/** Pod addresses: every node's podCIDR (a /24) comes from here (`--cluster-cidr`). */
export const DEFAULT_CLUSTER_CIDR = "10.42.0.0/16";

/** Service cluster IPs (`--service-cidr`). */
export const DEFAULT_SERVICE_CIDR = "10.43.0.0/16";
