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
