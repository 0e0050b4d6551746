import CarawayBroker
import CarawayHTTP
import CarawayProtocol
import CarawayRedis
import CarawayStore
import CarawayWorker

/// What the REST handlers need, gathered once by the node.
struct APIContext {
    let store: Store
    let redis: RedisConnection
    let keys: RedisKeys
    let registry: TaskRegistry
    let routes: TaskRoutes
    let nodeName: String
    let adminToken: String?
    let clock: any WallClock
    let resultExpires: Int
}

/// A 4xx answer naming the field and the reason (`{"error": ..., "field": ...}`); nothing is written.
struct APIError: Error {
    var status: Int
    var message: String
    var field: String?

    static func badRequest(_ field: String?, _ message: String) -> APIError { APIError(status: 400, message: message, field: field) }
    static func notFound(_ what: String) -> APIError { APIError(status: 404, message: "\(what) not found") }

    var response: HTTPResponse {
        var o = JSONObject()
        o["error"] = .string(message)
        if let field { o["field"] = .string(field) }
        return .json(status: status, bytes: JSON.object(o).serialized())
    }
}

extension HTTPResponder {
    func respond(json: JSON, status: Int = 200) { respond(.json(status: status, bytes: json.serialized())) }
    func respond(_ error: APIError) { respond(error.response) }
    /// Any error from a handler: an APIError becomes its 4xx, anything else a 500 with its text.
    func respond(error: any Error) {
        if let api = error as? APIError { respond(api.response) } else { respond(.error(status: 500, "\(error)")) }
    }
    /// Postgres/Redis trouble: 503 with the cause, so clients can retry.
    func respondUnavailable(_ error: any Error) {
        respond(.error(status: 503, "backing store unavailable: \(error)", code: "UNAVAILABLE"))
    }
}

extension HTTPRequest {
    /// The body as a JSON object, or a 400 naming what is wrong.
    func jsonObject() throws(APIError) -> JSONObject {
        guard !body.isEmpty else { throw .badRequest(nil, "the request needs a JSON object body") }
        let value: JSON
        do { value = try JSON.parse(body) } catch { throw .badRequest(nil, "the body is not valid JSON: \(error)") }
        guard case .object(let object) = value else { throw .badRequest(nil, "the body must be a JSON object, got \(value.typeName)") }
        return object
    }

    /// `{id}` as a positive integer, or a 404-worthy error.
    func int64Parameter(_ name: String) throws(APIError) -> Int64 {
        guard let text = pathParameters[name], let value = Int64(text), value > 0 else { throw .notFound("\(name) '\(pathParameters[name] ?? "")'") }
        return value
    }
}

/// Compares tokens in constant time (no early exit on the first differing byte).
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
    for i in 0..<max(x.count, y.count) {
        difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return difference == 0
}
