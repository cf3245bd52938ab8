/**
 * The real kubectl reaching a pod's HTTP server through the API server: `get --raw` and
 * `create --raw` on `pods/NAME:PORT/proxy/…`, `services/NAME:PORT/proxy/…` and
 * `nodes/NAME/proxy/…`, and `kubectl proxy` on a loopback port with fetch through it; the
 * errors kube-apiserver gives for a missing pod, port or endpoint; and RBAC on the
 * `pods/proxy` and `services/proxy` subresources for a ServiceAccount's token.
 */
import assert from "node:assert/strict";
import { startTestCluster, type TestCluster } from "./cluster.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, spawnKubectl, waitKubectl } from "./kubectl_helpers.ts";
import { randomServiceCidr } from "./test_utils.ts";

const NODE = "127.0.13.1";
const NS = "/api/v1/namespaces/default";

/** The files of pod `web`, from a ConfigMap. */
const FILES = {
  // A CGI answering with the method, the query and the body it got.
  "echo": `#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "method=$REQUEST_METHOD query=$QUERY_STRING"
[ -n "$CONTENT_LENGTH" ] && head -c "$CONTENT_LENGTH"
exit 0
`,
  // For `nc -e`: answers with the request head and body it read (a chunked body with its
  // framing), so the test sees what the proxy sent.
  "dump.sh": `#!/bin/sh
head=""
len=""
chunked=""
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\\r')
  [ -z "$line" ] && break
  head="$head$line
"
  case "$line" in
    [Cc]ontent-[Ll]ength:*) len=$(echo "$line" | sed 's/^[^:]*: *//') ;;
    [Tt]ransfer-[Ee]ncoding:*chunked*) chunked=1 ;;
  esac
done
body=""
if [ -n "$len" ] && [ "$len" != 0 ]; then body=$(head -c "$len"); fi
if [ -n "$chunked" ]; then
  while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\\r')
    body="$body$line
"
    # The last chunk's empty line is read too: unread bytes would make the close a reset.
    [ "$line" = 0 ] && read -r line && break
  done
fi
printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nConnection: close\\r\\n\\r\\n%s\\n%s' "$head" "$body"
`,
  "links.html":
    '<html><a href="/cgi-bin/echo?from=link">echo</a> <a href="rel.html">r</a></html>\n',
};

/**
 * Pod `web`: busybox httpd on 8080 (`http`: the image's index, a page with an absolute link, the
 * echo CGI) and the request-head dumper on 9000 (`dump`), behind Service `web`; Service
 * `empty` selecting no pod; pod `unplaced`, which no node can take (so it has no IP).
 */
function manifests(image: string): string {
  const script = [
    "mkdir -p /www/cgi-bin",
    "cp /files/echo /www/cgi-bin/echo",
    "cp /files/links.html /www/links.html",
    "cp /files/dump.sh /dump.sh",
    "chmod +x /www/cgi-bin/echo /dump.sh",
    "(nc -ll -p 9000 -e /dump.sh &)",
    "exec httpd -f -p 8080 -h /www",
  ].join(" && ");
  return `
apiVersion: v1
kind: ConfigMap
metadata: {name: web-files}
data: ${JSON.stringify(FILES)}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: files, configMap: {name: web-files}}]
  containers:
  - name: web
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(script)}]
    volumeMounts: [{name: files, mountPath: /files}]
    ports: [{name: http, containerPort: 8080}, {name: dump, containerPort: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: dump, port: 90, targetPort: dump}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing-matches}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: unplaced}
spec:
  nodeSelector: {no-such-label: "true"}
  containers: [{name: c, image: ${image}}]
`;
}

Deno.test({
  name: "kubectl get --raw, create --raw and kubectl proxy through pods/proxy and services/proxy",
  ignore: !haveKubectl(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const cluster: TestCluster = await startTestCluster({
      nodeAddresses: [NODE],
      serviceCidr: randomServiceCidr(),
    });
    const k = cluster.kubectl;
    const dir = await Deno.makeTempDir({ prefix: "skiff-proxy-" });
    try {
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: manifests(cluster.images.busybox) });
      await kubectlOk(k, ["wait", "--for=condition=Ready", "pod/web", "--timeout=60s"]);
      await waitKubectl(
        k,
        ["get", "endpoints", "web", "-o", "jsonpath={.subsets[0].addresses[0].ip}"],
        (out) => out.trim() !== "",
        { what: "the web Service's endpoint" },
      );
      const podIP = (await kubectlOk(k, ["get", "pod", "web", "-o", "jsonpath={.status.podIP}"]))
        .trim();

      await t.step("discovery lists the proxy subresources as kube-apiserver", async () => {
        const list = JSON.parse(await kubectlOk(k, ["get", "--raw", "/api/v1"]));
        const byName = (name: string) =>
          list.resources.find((r: { name: string }) => r.name === name);
        for (
          const [name, kind] of [
            ["pods/proxy", "PodProxyOptions"],
            ["services/proxy", "ServiceProxyOptions"],
            ["nodes/proxy", "NodeProxyOptions"],
          ]
        ) {
          assert.equal(byName(name)?.kind, kind, name);
          assert.deepEqual(byName(name)?.verbs, ["create", "delete", "get", "patch", "update"]);
        }
      });

      await t.step("get --raw on pods/NAME:PORT/proxy passes path and query", async () => {
        assert.equal(
          await kubectlOk(k, ["get", "--raw", `${NS}/pods/web:8080/proxy/cgi-bin/echo?x=1&y=two`]),
          "method=GET query=x=1&y=two\n",
        );
        // A container port's name, and no port at all (the first declared one).
        assert.equal(
          await kubectlOk(k, ["get", "--raw", `${NS}/pods/web:http/proxy/`]),
          "hello from skiff\n",
        );
        assert.equal(
          await kubectlOk(k, ["get", "--raw", `${NS}/pods/web/proxy/index.html`]),
          "hello from skiff\n",
        );
      });

      await t.step("the pod gets kube-apiserver's headers, not the caller's token", async () => {
        const head = await kubectlOk(k, ["get", "--raw", `${NS}/pods/web:9000/proxy/headers?q=1`]);
        const lines = head.trim().split("\n");
        assert.equal(lines[0], "GET /headers?q=1 HTTP/1.1");
        const headers = new Map(
          lines.slice(1).map((l) => {
            const i = l.indexOf(":");
            return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
          }),
        );
        assert.equal(headers.has("authorization"), false, head);
        assert.equal(headers.get("x-forwarded-uri"), `${NS}/pods/web:9000/proxy/headers`);
        assert.equal(headers.get("x-forwarded-for"), "127.0.0.1");
        assert.equal(headers.get("host"), new URL(cluster.server.url).host);
        assert.match(headers.get("user-agent") ?? "", /^kubectl/);
      });

      await t.step("get --raw on services/NAME:PORT/proxy, by port name and number", async () => {
        assert.equal(
          await kubectlOk(k, ["get", "--raw", `${NS}/services/web:http/proxy/`]),
          "hello from skiff\n",
        );
        assert.equal(
          await kubectlOk(k, ["get", "--raw", `${NS}/services/web:80/proxy/cgi-bin/echo?z=3`]),
          "method=GET query=z=3\n",
        );
      });

      await t.step("create --raw streams its body through the proxy", async () => {
        const body = `${dir}/body.txt`;
        await Deno.writeTextFile(body, "posted-through-the-proxy");
        // kubectl sends a file of unknown length: the body goes on chunked, as kube-apiserver
        // forwards it (an HTTP/1.0 backend such as busybox httpd's CGI would not read it).
        const echoed = await kubectlOk(k, [
          "create",
          "--raw",
          `${NS}/pods/web:dump/proxy/upload?via=create`,
          "-f",
          body,
        ]);
        const [head, sent] = echoed.split("\n\n");
        assert.match(head, /^POST \/upload\?via=create HTTP\/1\.1\n/);
        assert.match(head, /\nTransfer-Encoding: chunked\n/i);
        assert.equal(sent, "18\nposted-through-the-proxy\n0\n");
      });

      await t.step("nodes/NAME/proxy reaches the node's agent", async () => {
        const name = cluster.nodes[0].name;
        const metrics = await kubectlOk(k, ["get", "--raw", `/api/v1/nodes/${name}/proxy/metrics`]);
        assert.match(metrics, /^kubelet_running_pods\b/m);
      });

      await t.step("kube-apiserver's errors for a missing pod, port or endpoint", async () => {
        const fails = async (path: string, message: string) => {
          const r = await kubectl(k, ["get", "--raw", path]);
          assert.notEqual(r.code, 0, path);
          assert.equal(r.stderr.trim(), message, path);
        };
        await fails(
          `${NS}/pods/nope:8080/proxy/`,
          'Error from server (NotFound): pods "nope" not found',
        );
        await fails(
          `${NS}/services/web:81/proxy/`,
          'Error from server (ServiceUnavailable): no service port 81 found for service "web"',
        );
        await fails(
          `${NS}/pods/web:8081/proxy/`,
          "Error from server (ServiceUnavailable): error trying to reach service: " +
            `dial tcp ${podIP}:8081: connect: connection refused`,
        );
        await waitKubectl(k, ["get", "endpoints", "empty", "-o", "name"], (o) => o.trim() !== "");
        await fails(
          `${NS}/services/empty/proxy/`,
          'Error from server (ServiceUnavailable): no endpoints available for service "empty"',
        );
        await fails(
          `${NS}/pods/unplaced/proxy/`,
          "Error from server (BadRequest): address not allowed",
        );
        await fails(
          `${NS}/pods/a:b:c:d/proxy/`,
          'Error from server (BadRequest): invalid pod request "a:b:c:d"',
        );
      });

      await t.step("kubectl proxy on a loopback port, with fetch through it", async () => {
        const proxy = spawnKubectl(k, ["proxy", "--address=127.0.0.1", "--port=0"]);
        try {
          const started = await proxy.waitOutput(
            (out) => /Starting to serve on 127\.0\.0\.1:\d+/.test(out),
            "kubectl proxy serving",
          );
          const port = /127\.0\.0\.1:(\d+)/.exec(started)![1];
          const base = `http://127.0.0.1:${port}${NS}/services/web:80/proxy`;
          const index = await fetch(`${base}/`);
          assert.equal(index.status, 200);
          assert.equal(await index.text(), "hello from skiff\n");
          // The bare proxy path redirects to the one with a slash.
          const bare = await fetch(base, { redirect: "manual" });
          await bare.body?.cancel();
          assert.equal(bare.status, 301);
          assert.equal(
            new URL(bare.headers.get("location")!, base).pathname,
            `${NS}/services/web:80/proxy/`,
          );
          // Absolute links of a page stay under the proxy; relative ones are left alone.
          const page = await (await fetch(`${base}/links.html`)).text();
          assert.equal(
            page.trim(),
            `<html><a href="${NS}/services/web:80/proxy/cgi-bin/echo?from=link">echo</a> ` +
              `<a href="rel.html">r</a></html>`,
          );
          const posted = await fetch(`${base}/cgi-bin/echo?via=proxy`, {
            method: "POST",
            body: "fetch-body",
          });
          assert.equal(await posted.text(), "method=POST query=via=proxy\nfetch-body");
        } finally {
          await proxy.stop();
        }
      });

      await t.step("RBAC: a ServiceAccount needs pods/proxy and services/proxy", async () => {
        await kubectlOk(k, ["create", "serviceaccount", "prober"]);
        await kubectlOk(k, [
          "create",
          "role",
          "prober",
          "--verb=get,list",
          "--resource=pods,services",
        ]);
        await kubectlOk(k, [
          "create",
          "rolebinding",
          "prober",
          "--role=prober",
          "--serviceaccount=default:prober",
        ]);
        const token = (await kubectlOk(k, ["create", "token", "prober"])).trim();
        const as = (args: string[]) => kubectl(k, [`--token=${token}`, ...args]);
        // The Role works (the binding has reached RBAC) ...
        await waitKubectl(
          k,
          ["--token=" + token, "get", "pod", "web", "-o", "name"],
          (o) => o.trim() === "pod/web",
        );
        // ... yet without the subresource the proxy is refused.
        const refused = await as(["get", "--raw", `${NS}/pods/web:8080/proxy/`]);
        assert.notEqual(refused.code, 0);
        assert.equal(
          refused.stderr.trim(),
          'Error from server (Forbidden): pods "web:8080" is forbidden: User ' +
            '"system:serviceaccount:default:prober" cannot get resource "pods/proxy" in API ' +
            'group "" in the namespace "default"',
        );
        await kubectlOk(k, [
          "create",
          "role",
          "prober-proxy",
          "--verb=get",
          "--resource=pods/proxy,services/proxy",
        ]);
        await kubectlOk(k, [
          "create",
          "rolebinding",
          "prober-proxy",
          "--role=prober-proxy",
          "--serviceaccount=default:prober",
        ]);
        await waitKubectl(
          k,
          ["--token=" + token, "get", "--raw", `${NS}/pods/web:8080/proxy/`],
          (o) => o === "hello from skiff\n",
          { what: "pods/proxy allowed once granted" },
        );
        assert.equal(
          (await as(["get", "--raw", `${NS}/services/web:http/proxy/`])).stdout,
          "hello from skiff\n",
        );
        // `get` does not cover POST, which is `create`.
        const body = `${dir}/body.txt`;
        const post = await as([
          "create",
          "--raw",
          `${NS}/services/web:http/proxy/cgi-bin/echo`,
          "-f",
          body,
        ]);
        assert.notEqual(post.code, 0);
        assert.match(post.stderr, /cannot create resource "services\/proxy" in API group ""/);
      });
    } finally {
      await cluster.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
