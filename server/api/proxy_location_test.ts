/** Tests for where the proxy subresources send a request (the proxying is in http_proxy_test.ts). */
import { deepEqual, equal, throws } from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { ApiError, NotFoundError } from "../../shared/errors.ts";
import {
  isGlobalUnicast,
  nodeLocation,
  parseProxyId,
  podLocation,
  serviceLocation,
  type ServiceLookups,
  splitSchemeNamePort,
} from "./proxy_location.ts";

/** Asserts that `fn` throws an ApiError with `code` and `message`. */
function throwsStatus(fn: () => unknown, code: number, message: string): void {
  throws(fn, (err: unknown) => {
    if (!(err instanceof ApiError)) return false;
    equal(err.message, message);
    equal(err.code, code);
    return true;
  });
}

Deno.test("splitSchemeNamePort() reads name, name:port and scheme:name:port", () => {
  deepEqual(splitSchemeNamePort("web"), { scheme: "", name: "web", port: "" });
  deepEqual(splitSchemeNamePort("web:8080"), { scheme: "", name: "web", port: "8080" });
  deepEqual(splitSchemeNamePort("web:http"), { scheme: "", name: "web", port: "http" });
  deepEqual(splitSchemeNamePort("https:web:443"), { scheme: "https", name: "web", port: "443" });
  deepEqual(splitSchemeNamePort("https:web:"), { scheme: "https", name: "web", port: "" });
  deepEqual(splitSchemeNamePort("http:web:metrics"), {
    scheme: "http",
    name: "web",
    port: "metrics",
  });
  // Two parts are always name:port, even when the first looks like a scheme.
  deepEqual(splitSchemeNamePort("https:web"), { scheme: "", name: "https", port: "web" });
});

Deno.test("splitSchemeNamePort() refuses an empty name, a bad scheme or too many parts", () => {
  equal(splitSchemeNamePort(""), undefined);
  equal(splitSchemeNamePort(":80"), undefined);
  equal(splitSchemeNamePort("ftp:web:21"), undefined);
  equal(splitSchemeNamePort("a:b:c:d"), undefined);
  throwsStatus(() => parseProxyId("pod", "ftp:web:21"), 400, 'invalid pod request "ftp:web:21"');
  throwsStatus(() => parseProxyId("service", ":80"), 400, 'invalid service request ":80"');
  throwsStatus(() => parseProxyId("node", "a:b:c:d"), 400, 'invalid node request "a:b:c:d"');
});

const pod = (ip: string | undefined, ports: { name?: string; containerPort: number }[][]) =>
  ({
    metadata: { name: "web-0", namespace: "default" },
    spec: { containers: ports.map((p, i) => ({ name: `c${i}`, ports: p })) },
    status: ip ? { podIP: ip, podIPs: [{ ip }] } : {},
  }) as unknown as KubeObject;

Deno.test("podLocation() picks the port asked for, by number or container port name", () => {
  const p = pod("10.42.0.7", [[], [{ name: "http", containerPort: 8080 }, {
    name: "metrics",
    containerPort: 9090,
  }]]);
  deepEqual(podLocation(p, splitSchemeNamePort("web-0:9100")!), {
    scheme: "http",
    hostname: "10.42.0.7",
    port: 9100,
    authority: "10.42.0.7:9100",
  });
  equal(podLocation(p, splitSchemeNamePort("web-0:metrics")!).port, 9090);
  // No port: the first port any container declares.
  equal(podLocation(p, splitSchemeNamePort("web-0")!).authority, "10.42.0.7:8080");
  const tls = podLocation(p, splitSchemeNamePort("https:web-0:8443")!);
  deepEqual([tls.scheme, tls.port], ["https", 8443]);
});

Deno.test("podLocation() without any declared port uses the scheme's default port", () => {
  const p = pod("10.42.0.7", [[]]);
  const plain = podLocation(p, splitSchemeNamePort("web-0")!);
  deepEqual([plain.port, plain.authority], [80, "10.42.0.7"]);
  equal(podLocation(p, splitSchemeNamePort("https:web-0:")!).port, 443);
});

Deno.test("podLocation() refuses a pod without a usable IP: address not allowed", () => {
  throwsStatus(
    () => podLocation(pod(undefined, [[]]), { scheme: "", name: "web-0", port: "80" }),
    400,
    "address not allowed",
  );
  throwsStatus(
    () => podLocation(pod("127.0.13.2", [[]]), { scheme: "", name: "web-0", port: "" }),
    400,
    "address not allowed",
  );
});

Deno.test("podLocation() refuses an unknown port name and a port out of range", () => {
  const p = pod("10.42.0.7", [[{ name: "http", containerPort: 8080 }]]);
  throwsStatus(
    () => podLocation(p, splitSchemeNamePort("web-0:nope")!),
    503,
    'error trying to reach service: pod "web-0" has no container port named "nope"',
  );
  throwsStatus(
    () => podLocation(p, splitSchemeNamePort("web-0:70000")!),
    503,
    "error trying to reach service: dial tcp: address 70000: invalid port",
  );
});

Deno.test("isGlobalUnicast() follows Go's net.IP.IsGlobalUnicast", () => {
  for (const ip of ["10.42.0.7", "192.168.1.10", "8.8.8.8", "fd00::1", "2001:db8::1"]) {
    equal(isGlobalUnicast(ip), true, ip);
  }
  for (
    const ip of [
      "0.0.0.0",
      "127.0.0.1",
      "169.254.1.1",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fe80::1",
      "ff02::1",
      "not-an-ip",
    ]
  ) {
    equal(isGlobalUnicast(ip), false, ip);
  }
});

/** A Service `web` with ports http (80 → 8080) and metrics (9090), and its Endpoints. */
function lookups(options: {
  subsets?: unknown[];
  pods?: Record<string, string>;
  random?: () => number;
  endpoints?: boolean;
}): ServiceLookups {
  const service = {
    metadata: { name: "web", namespace: "default" },
    spec: {
      ports: [{ name: "http", port: 80, targetPort: 8080 }, {
        name: "metrics",
        port: 9090,
      }],
    },
  } as unknown as KubeObject;
  return {
    service: (name) => {
      if (name !== "web") throw new NotFoundError({ resource: "services", name });
      return service;
    },
    endpoints: (name) => {
      if (name !== "web" || options.endpoints === false) {
        throw new NotFoundError({ resource: "endpoints", name });
      }
      return { metadata: { name }, subsets: options.subsets } as unknown as KubeObject;
    },
    pod: (name) => {
      const ip = options.pods?.[name];
      return ip
        ? { metadata: { name }, status: { podIP: ip, podIPs: [{ ip }] } } as unknown as KubeObject
        : undefined;
    },
    random: options.random ?? (() => 0),
  };
}

const address = (ip: string, name: string, namespace = "default") => ({
  ip,
  targetRef: { kind: "Pod", namespace, name },
});
const PORTS = [{ name: "http", port: 8080 }, { name: "metrics", port: 9090 }];

Deno.test("serviceLocation() turns a port number into the service port's endpoint port", () => {
  const l = lookups({
    subsets: [{ addresses: [address("10.42.0.7", "a")], ports: PORTS }],
    pods: { a: "10.42.0.7" },
  });
  deepEqual(serviceLocation("default", splitSchemeNamePort("web:80")!, l), {
    scheme: "http",
    hostname: "10.42.0.7",
    port: 8080,
    authority: "10.42.0.7:8080",
  });
  equal(serviceLocation("default", splitSchemeNamePort("web:metrics")!, l).port, 9090);
  equal(serviceLocation("default", splitSchemeNamePort("https:web:metrics")!, l).scheme, "https");
});

Deno.test("serviceLocation() picks among the ready addresses at random", () => {
  const subsets = [{
    addresses: [address("10.42.0.7", "a"), address("10.42.1.8", "b")],
    ports: PORTS,
  }];
  const pods = { a: "10.42.0.7", b: "10.42.1.8" };
  const at = (r: number) =>
    serviceLocation(
      "default",
      splitSchemeNamePort("web:http")!,
      lookups({ subsets, pods, random: () => r }),
    ).hostname;
  deepEqual([at(0), at(0.6)], ["10.42.0.7", "10.42.1.8"]);
});

Deno.test("serviceLocation() skips addresses whose pod is gone, moved or of another namespace", () => {
  const subsets = [{
    addresses: [
      address("10.42.0.7", "gone"),
      address("10.42.0.8", "moved"),
      address("10.42.0.9", "other", "kube-system"),
      { ip: "10.42.0.10" },
      address("10.42.0.11", "good"),
    ],
    ports: PORTS,
  }];
  const pods = { moved: "10.42.3.3", other: "10.42.0.9", good: "10.42.0.11" };
  equal(
    serviceLocation("default", splitSchemeNamePort("web:http")!, lookups({ subsets, pods }))
      .hostname,
    "10.42.0.11",
  );
});

Deno.test("serviceLocation() answers kube-apiserver's errors", () => {
  const ready = [{ addresses: [address("10.42.0.7", "a")], ports: PORTS }];
  throwsStatus(
    () => serviceLocation("default", splitSchemeNamePort("web:81")!, lookups({ subsets: ready })),
    503,
    'no service port 81 found for service "web"',
  );
  throwsStatus(
    () => serviceLocation("default", splitSchemeNamePort("web:http")!, lookups({ subsets: [] })),
    503,
    'no endpoints available for service "web"',
  );
  // Only not-ready addresses, or no port of that name: upstream names the whole ID.
  throwsStatus(
    () =>
      serviceLocation(
        "default",
        splitSchemeNamePort("web:http")!,
        lookups({ subsets: [{ notReadyAddresses: [address("10.42.0.7", "a")], ports: PORTS }] }),
      ),
    503,
    'no endpoints available for service "web:http"',
  );
  throwsStatus(
    () =>
      serviceLocation(
        "default",
        splitSchemeNamePort("web:admin")!,
        lookups({ subsets: ready, pods: { a: "10.42.0.7" } }),
      ),
    503,
    'no endpoints available for service "web:admin"',
  );
  // No port on a service whose ports all have names: no endpoint port has the empty name.
  throwsStatus(
    () =>
      serviceLocation(
        "default",
        splitSchemeNamePort("web")!,
        lookups({ subsets: ready, pods: { a: "10.42.0.7" } }),
      ),
    503,
    'no endpoints available for service "web"',
  );
  // No Endpoints object at all (ExternalName, or no selector): the Endpoints' 404.
  throws(
    () =>
      serviceLocation("default", splitSchemeNamePort("web:http")!, lookups({ endpoints: false })),
    NotFoundError,
  );
  throws(
    () => serviceLocation("default", splitSchemeNamePort("nope:80")!, lookups({})),
    NotFoundError,
  );
});

Deno.test("nodeLocation() reaches the agent API with the server's credential, or another port", () => {
  const agent = { hostname: "127.0.13.2", port: 10250, token: "secret" };
  deepEqual(nodeLocation(splitSchemeNamePort("n1")!, agent), {
    scheme: "http",
    hostname: "127.0.13.2",
    port: 10250,
    authority: "127.0.13.2:10250",
    headers: { authorization: "Bearer secret" },
  });
  // The agent's port with a scheme: still the agent, as the kubelet's port upstream.
  equal(nodeLocation(splitSchemeNamePort("https:n1:10250")!, agent).scheme, "http");
  deepEqual(nodeLocation(splitSchemeNamePort("https:n1:9100")!, agent), {
    scheme: "https",
    hostname: "127.0.13.2",
    port: 9100,
    authority: "127.0.13.2:9100",
  });
  throwsStatus(
    () => nodeLocation(splitSchemeNamePort("n1:ssh")!, agent),
    503,
    "error trying to reach service: dial tcp: lookup tcp/ssh: unknown port",
  );
});
