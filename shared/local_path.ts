/**
 * The contract between the server's `skiff.io/local-path` provisioner and the agents: how a node
 * says where its volumes live, how a provisioned PersistentVolume names its node, and the
 * finalizer the node's agent removes once it has deleted the volume's directory.
 *
 * A provisioned volume is `hostPath: <root>/<pv-name>` (type DirectoryOrCreate) with node affinity
 * to its node, where `<root>` is the node's {@linkcode LOCAL_PATH_ROOT_ANNOTATION}
 * (`<data-dir>/storage`). The agent creates the directory when a pod mounts it and, when the
 * volume is deleted with reclaim policy Delete, removes it before releasing the finalizer.
 */

/** The provisioner name of Skiff's built-in local storage. */
export const LOCAL_PATH_PROVISIONER = "skiff.io/local-path";

/** The name of the default StorageClass the server creates at start. */
export const LOCAL_PATH_STORAGE_CLASS = "local-path";

/** Node annotation: the directory under which the node's agent keeps local-path volumes. */
export const LOCAL_PATH_ROOT_ANNOTATION = "storage.skiff.io/local-path-root";

/** Label on a provisioned PersistentVolume: the node holding its directory. */
export const LOCAL_PATH_NODE_LABEL = "storage.skiff.io/node";

/** Finalizer on a provisioned PersistentVolume, removed by its node's agent after cleanup. */
export const LOCAL_PATH_CLEANUP_FINALIZER = "storage.skiff.io/local-path-cleanup";

/** Annotation of a provisioned volume naming its provisioner (Kubernetes' own key). */
export const PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by";
