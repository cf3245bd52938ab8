/**
 * Types for the part of dockerode the agent uses. Written here rather than taken from
 * `@types/dockerode`, which pins `@types/node@18` and so breaks type-checking of code that uses
 * newer Node APIs (`node:sqlite`) in the same program.
 */

/** A Node.js readable stream, as far as the agent uses one. */
export interface NodeStream extends AsyncIterable<unknown> {
  destroy?(): void;
}

/** A hijacked, writable Docker connection (exec with stdin). */
export interface NodeDuplex extends NodeStream {
  write(chunk: Uint8Array): boolean;
  end(): void;
}

declare namespace Docker {
  interface DockerOptions {
    socketPath?: string;
  }

  interface DockerVersion {
    Version: string;
    ApiVersion: string;
    KernelVersion?: string;
    Os?: string;
    Arch?: string;
  }

  interface PortBinding {
    HostIp: string;
    HostPort: string;
  }

  interface HostConfig {
    NetworkMode?: string;
    IpcMode?: string;
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

  interface ContainerCreateOptions {
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

  interface ContainerInfo {
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

  interface ContainerInspectInfo {
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
      Labels: Record<string, string>;
      Image: string;
    };
    HostConfig: HostConfig;
    NetworkSettings: {
      IPAddress: string;
      Ports: Record<string, PortBinding[] | null>;
      Networks: Record<string, { IPAddress: string }>;
    };
  }

  interface ImageInspectInfo {
    Id: string;
    RepoTags?: string[];
    RepoDigests?: string[];
    Size: number;
  }

  interface ImageInfo {
    Id: string;
    RepoTags?: string[] | null;
    RepoDigests?: string[] | null;
    Size: number;
  }

  interface ContainerStats {
    cpu_stats?: { cpu_usage?: { total_usage?: number } };
    memory_stats?: { usage?: number; stats?: Record<string, number> };
  }

  interface ExecInspectInfo {
    Running: boolean;
    ExitCode: number | null;
  }

  interface Exec {
    id: string;
    start(options: { hijack?: boolean; stdin?: boolean; Tty?: boolean }): Promise<NodeDuplex>;
    inspect(): Promise<ExecInspectInfo>;
    resize(options: { h: number; w: number }): Promise<unknown>;
  }

  interface Container {
    id: string;
    start(): Promise<unknown>;
    stop(options?: { t?: number }): Promise<unknown>;
    kill(options?: { signal?: string }): Promise<unknown>;
    remove(options?: { force?: boolean; v?: boolean }): Promise<unknown>;
    inspect(): Promise<ContainerInspectInfo>;
    exec(options: {
      Cmd: string[];
      AttachStdout?: boolean;
      AttachStderr?: boolean;
      AttachStdin?: boolean;
      Tty?: boolean;
      Env?: string[];
      WorkingDir?: string;
    }): Promise<Exec>;
    logs(options: {
      follow: true;
      stdout?: boolean;
      stderr?: boolean;
      timestamps?: boolean;
      tail?: number | string;
      since?: number;
    }): Promise<NodeStream>;
    logs(options: {
      follow?: false;
      stdout?: boolean;
      stderr?: boolean;
      timestamps?: boolean;
      tail?: number | string;
      since?: number;
    }): Promise<Uint8Array>;
    stats(options: { stream: false; "one-shot"?: boolean }): Promise<ContainerStats>;
  }

  interface Image {
    inspect(): Promise<ImageInspectInfo>;
  }
}

declare class Docker {
  constructor(options?: Docker.DockerOptions);
  version(): Promise<Docker.DockerVersion>;
  info(): Promise<Record<string, unknown>>;
  listContainers(options?: {
    all?: boolean;
    filters?: Record<string, string[]>;
  }): Promise<Docker.ContainerInfo[]>;
  createContainer(options: Docker.ContainerCreateOptions): Promise<Docker.Container>;
  getContainer(id: string): Docker.Container;
  getImage(name: string): Docker.Image;
  listImages(): Promise<Docker.ImageInfo[]>;
  pull(ref: string): Promise<NodeStream>;
  loadImage(file: unknown, options?: { quiet?: boolean }): Promise<NodeStream>;
  getEvents(options?: { filters?: Record<string, string[]> }): Promise<NodeStream>;
}

export default Docker;
