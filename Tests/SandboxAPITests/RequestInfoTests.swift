import NIOHTTP1
import Testing
@testable import SandboxAPI

@Suite struct RequestInfoTests {
    @Test func parsesNamespacedSubresource() {
        let r = APIRequest(method: .GET, uri: "/api/v1/namespaces/default/pods/redis-0/exec?command=redis-cli&command=PING", headers: HTTPHeaders())
        let i = RequestInfo(r)
        #expect(i.isResource)
        #expect(i.namespace == "default")
        #expect(i.resource == "pods")
        #expect(i.name == "redis-0")
        #expect(i.subresource == "exec")
        #expect(i.verb == "create")
        #expect(i.metricVerb == "CONNECT")
        #expect(r.queryAll("command") == ["redis-cli", "PING"])
    }

    @Test func listWatchAndGroups() {
        let w = RequestInfo(APIRequest(method: .GET, uri: "/apis/apps/v1/namespaces/default/statefulsets?watch=true&fieldSelector=metadata.name%3Dredis", headers: HTTPHeaders()))
        #expect(w.group == "apps" && w.verb == "watch" && w.isWatch && w.metricVerb == "WATCH")
        let n = RequestInfo(APIRequest(method: .GET, uri: "/api/v1/namespaces/default", headers: HTTPHeaders()))
        #expect(n.resource == "namespaces" && n.name == "default" && n.namespace == nil)
        let h = RequestInfo(APIRequest(method: .GET, uri: "/healthz", headers: HTTPHeaders()))
        #expect(!h.isResource && h.isHealth)
    }

    @Test func forbiddenWording() {
        let s = APIStatus.forbidden(user: "oncall-viewer", verb: "create", resource: "pods", subresource: "exec", group: "", name: "redis-0", namespace: "default")
        #expect(s.message == #"pods "redis-0" is forbidden: User "oncall-viewer" cannot create resource "pods/exec" in API group "" in the namespace "default""#)
        #expect(!RBAC.allows(APIUser(name: "oncall-viewer", isAdmin: false), verb: "create", resource: "pods", subresource: "exec"))
        #expect(RBAC.allows(APIUser(name: "oncall-viewer", isAdmin: false), verb: "get", resource: "pods", subresource: "log"))
        #expect(!RBAC.allows(APIUser(name: "oncall-viewer", isAdmin: false), verb: "get", resource: "secrets", subresource: nil))
    }
}

/// The verb label of apiserver_request_total, as the real apiserver reports it (issue 16
/// counts the dashboard's requests by it): a collection GET is LIST, `?watch=1`/`true` on a
/// collection is WATCH, one object is GET, an exec (WebSocket GET or SPDY POST), attach,
/// portforward or pod proxy is CONNECT, a log is GET with subresource log.
@Suite struct MetricVerbTests {
    func verb(_ method: HTTPMethod, _ uri: String) -> String {
        RequestInfo(APIRequest(method: method, uri: uri, headers: HTTPHeaders())).metricVerb
    }

    @Test func watchListGetConnect() {
        let pods = "/api/v1/namespaces/default/pods"
        #expect(verb(.GET, pods) == "LIST")
        #expect(verb(.GET, pods + "?labelSelector=app%3Dredis&limit=500") == "LIST")
        #expect(verb(.GET, pods + "?watch=1") == "WATCH")
        #expect(verb(.GET, pods + "?fieldSelector=metadata.name%3Dredis-0&watch=true&resourceVersion=12") == "WATCH")
        #expect(verb(.GET, pods + "?watch=false") == "LIST")
        #expect(verb(.GET, pods + "/redis-0") == "GET")
        #expect(verb(.GET, pods + "/redis-0?watch=1") == "GET", "watch applies to collections only, as the real RequestInfoFactory")
        #expect(verb(.GET, pods + "/redis-0/log?container=redis&tailLines=50") == "GET")
        #expect(verb(.GET, pods + "/redis-0/exec?command=redis-cli&container=redis&stdin=true") == "CONNECT")
        #expect(verb(.POST, pods + "/redis-0/exec?command=redis-cli") == "CONNECT")
        #expect(verb(.GET, pods + "/redis-0:9121/proxy/metrics") == "CONNECT")
        #expect(verb(.GET, "/api/v1/nodes") == "LIST")
        #expect(verb(.GET, "/api/v1/nodes/sandbox-node-1") == "GET")
        #expect(verb(.GET, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dredis-0") == "LIST")
        #expect(verb(.PATCH, "/apis/apps/v1/namespaces/default/statefulsets/redis") == "PATCH")
        #expect(verb(.DELETE, pods + "/redis-0") == "DELETE")
        #expect(verb(.POST, pods) == "POST")
        #expect(verb(.GET, "/api") == "GET")
        #expect(verb(.GET, "/metrics") == "GET")
    }

    @Test func countersRenderInPrometheusTextFormat() {
        let m = RequestMetrics()
        let list = RequestMetrics.Series(verb: "LIST", resource: "pods", subresource: "")
        let exec = RequestMetrics.Series(verb: "CONNECT", resource: "pods", subresource: "exec")
        m.request(list, code: 200); m.request(list, code: 200); m.request(exec, code: 101)
        m.sent(list, bytes: 1500); m.sent(exec, bytes: 20); m.sent(exec, bytes: 22)
        m.longRunning(exec, 1)
        let text = m.render()
        #expect(text.contains(#"apiserver_request_total{code="200",component="apiserver",resource="pods",subresource="",verb="LIST"} 2"#), "\(text)")
        #expect(text.contains(#"apiserver_request_total{code="101",component="apiserver",resource="pods",subresource="exec",verb="CONNECT"} 1"#))
        #expect(text.contains(#"apiserver_response_sent_bytes_total{component="apiserver",resource="pods",subresource="exec",verb="CONNECT"} 42"#))
        #expect(text.contains(#"apiserver_longrunning_requests{component="apiserver",resource="pods",subresource="exec",verb="CONNECT"} 1"#))
        #expect(text.contains("# TYPE apiserver_request_total counter"))
        #expect(text.contains("# TYPE apiserver_longrunning_requests gauge"))
    }
}
