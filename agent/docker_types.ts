/**
 * The Docker Engine API shapes the agent reads and writes (create options, list and inspect
 * results), as far as it uses them. Import as `Docker` from docker_runtime.ts:
 * `Docker.ContainerCreateOptions`, `Docker.ContainerInspectInfo`, ...
 */

export interface DockerVersion {
  Version: string;
  ApiVersion: string;
  KernelVersion?: string;
  Os?: string;
  Arch?: string;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface HostConfig {
  NetworkMode?: string;
  IpcMode?: string;
  /** `host`, `container:<id>`, or unset for a private PID namespace. */
  PidMode?: string;
  /** Supplementary group IDs of the container's processes. */
  GroupAdd?: string[];
  Binds?: string[];
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  Privileged?: boolean;
  Memory?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  PortBindings?: Record<string, PortBinding[]>;
  [key: string]: unknown;
}

export interface ContainerCreateOptions {
  name?: string;
  Image?: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  HostConfig?: HostConfig;
}

export interface ContainerInfo {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Labels: Record<string, string>;
  /** `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`. */
  State: string;
  Status: string;
  /** Unix seconds. */
  Created: number;
}

export interface ContainerInspectInfo {
  Id: string;
  Name: string;
  /** RFC 3339. */
  Created: string;
  /** Image ID (`sha256:...`). */
  Image: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
  };
  Config: {
    Tty: boolean;
    OpenStdin?: boolean;
    Labels: Record<string, string>;
    Image: string;
  };
  HostConfig: HostConfig;
  /** The json-file log of the container (empty with other log drivers). */
  LogPath?: string;
  /** Bytes in the container's writable layer; only when inspected with `size`. */
  SizeRw?: number;
  NetworkSettings: {
    IPAddress: string;
    Ports: Record<string, PortBinding[] | null>;
    Networks: Record<string, { IPAddress: string }>;
  };
}

export interface ImageInspectInfo {
  Id: string;
  /** The image's defaults; `User` decides who a container runs as without `runAsUser`. */
  Config?: { User?: string };
  RepoTags?: string[];
  RepoDigests?: string[];
  Size: number;
}

export interface ImageInfo {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size: number;
}

export interface ContainerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

/** `POST /networks/create` body (bridge networks only). */
export interface NetworkCreateOptions {
  Name: string;
  Driver?: string;
  CheckDuplicate?: boolean;
  IPAM?: { Driver?: string; Config: { Subnet: string; Gateway?: string }[] };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** `GET /networks/{id}` answer, as far as the agent reads it. */
export interface NetworkInspectInfo {
  Id: string;
  Name: string;
  Driver: string;
  IPAM: { Config: { Subnet?: string; Gateway?: string }[] | null };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
  /** Attached containers by ID. */
  Containers?: Record<string, { Name: string; IPv4Address?: string }>;
}
