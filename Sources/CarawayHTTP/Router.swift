/// Maps method + path pattern to handlers; answers 404 and 405 itself.
///
/// Patterns are literal segments and `{name}` parameters: `/api/v1/tasks/{id}`. A parameter
/// matches one whole non-empty segment, percent-decoded, and is handed over in
/// ``HTTPRequest/pathParameters``. Matching is exact (a trailing `/` is a different path). When
/// several patterns match, the one with a literal where the others have a parameter wins, at the
/// first segment where they differ (`/tasks/stats` beats `/tasks/{id}`), whatever the order of
/// registration. `HEAD` falls back to the `GET` route. A path that matches no pattern gets
/// `404`; one that matches only for other methods gets `405` with `Allow`.
///
/// Register routes before serving; then pass ``handle(_:_:)`` as the server's handler.
///
/// Thread: the loop thread only.
public final class Router {
    private var routes: [Route] = []

    public init() {}

    /// Adds a route.
    ///
    /// Stops with a precondition failure on a malformed pattern (not starting with `/`, an empty
    /// or repeated parameter name) or a pattern registered twice for one method: both are
    /// programming errors that must not survive the first test run.
    /// - Parameters:
    ///   - method: The method, e.g. `GET` (compared exactly; methods are case-sensitive).
    ///   - pattern: e.g. `/api/v1/tasks/{id}`.
    ///   - handler: Called on the loop thread for each matching request; answers through the responder.
    public func add(_ method: String, _ pattern: String, _ handler: @escaping (HTTPRequest, HTTPResponder) -> Void) {
        let parsed = RoutePattern(pattern)
        precondition(!routes.contains { $0.method == method && $0.pattern.shape == parsed.shape },
                     "route \(method) \(pattern) registered twice")
        routes.append(Route(method: method, pattern: parsed, handler: handler))
    }

    /// Adds a `GET` route (which also answers `HEAD`).
    public func get(_ pattern: String, _ handler: @escaping (HTTPRequest, HTTPResponder) -> Void) {
        add("GET", pattern, handler)
    }

    /// Adds a `POST` route.
    public func post(_ pattern: String, _ handler: @escaping (HTTPRequest, HTTPResponder) -> Void) {
        add("POST", pattern, handler)
    }

    /// Adds a `PUT` route.
    public func put(_ pattern: String, _ handler: @escaping (HTTPRequest, HTTPResponder) -> Void) {
        add("PUT", pattern, handler)
    }

    /// Adds a `DELETE` route.
    public func delete(_ pattern: String, _ handler: @escaping (HTTPRequest, HTTPResponder) -> Void) {
        add("DELETE", pattern, handler)
    }

    /// Routes `request`: calls the matching route's handler with ``HTTPRequest/pathParameters``
    /// filled in, or answers 404/405 through `responder`. Either way the responder is answered
    /// exactly once (by the route's handler in the first case).
    public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let segments = RoutePattern.segments(ofPath: request.path)
        var best: (route: Route, parameters: [String: String])?
        var headFallback: (route: Route, parameters: [String: String])?
        var allowed: Set<String> = []
        for route in routes {
            guard let parameters = route.pattern.match(segments) else { continue }
            allowed.insert(route.method)
            if route.method == request.method {
                if best.map({ route.pattern.isMoreSpecific(than: $0.route.pattern) }) ?? true {
                    best = (route, parameters)
                }
            } else if request.method == "HEAD" && route.method == "GET" {
                if headFallback.map({ route.pattern.isMoreSpecific(than: $0.route.pattern) }) ?? true {
                    headFallback = (route, parameters)
                }
            }
        }
        if let match = best ?? headFallback {
            var routed = request
            routed.pathParameters = match.parameters
            match.route.handler(routed, responder)
            return
        }
        if allowed.isEmpty {
            responder.respond(.error(status: 404, "no route for \(request.method) \(request.path)", code: "NOT_FOUND"))
            return
        }
        if allowed.contains("GET") { allowed.insert("HEAD") }
        var response = HTTPResponse.error(status: 405, "method \(request.method) not allowed here",
                                          code: "METHOD_NOT_ALLOWED")
        response.headers.append(("Allow", allowed.sorted().joined(separator: ", ")))
        responder.respond(response)
    }

    private struct Route {
        let method: String
        let pattern: RoutePattern
        let handler: (HTTPRequest, HTTPResponder) -> Void
    }
}
