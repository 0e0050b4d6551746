import Testing
@testable import CarawayHTTP

@Suite struct RouterTests {
    /// Routes `method path` and returns the answer (routes answer synchronously here).
    static func route(_ router: Router, _ method: String, _ path: String) -> HTTPResponse? {
        var answer: HTTPResponse?
        router.handle(HTTPRequest(method: method, path: path), HTTPResponder { answer = $0 })
        return answer
    }

    static func sampleRouter() -> Router {
        let router = Router()
        router.get("/inspect/active") { _, responder in responder.respond(.text("active")) }
        router.get("/api/v1/tasks/{id}") { request, responder in
            responder.respond(.text("task \(request.pathParameters["id"] ?? "?")"))
        }
        router.delete("/api/v1/tasks/{id}") { request, responder in
            responder.respond(.text("revoked \(request.pathParameters["id"] ?? "?")"))
        }
        router.get("/api/v1/tasks/stats") { _, responder in responder.respond(.text("stats")) }
        router.get("/api/v1/schedules/{name}/executions/{page}") { request, responder in
            responder.respond(.text("\(request.pathParameters["name"] ?? "?") page \(request.pathParameters["page"] ?? "?")"))
        }
        router.get("/") { _, responder in responder.respond(.text("root")) }
        return router
    }

    @Test func aLiteralRouteMatchesExactly() {
        let router = Self.sampleRouter()
        #expect(Self.route(router, "GET", "/inspect/active")?.body == Array("active".utf8))
        #expect(Self.route(router, "GET", "/inspect/active/")?.status == 404)
        #expect(Self.route(router, "GET", "/")?.body == Array("root".utf8))
    }

    @Test func parametersAreCapturedAndPercentDecoded() {
        let router = Self.sampleRouter()
        #expect(Self.route(router, "GET", "/api/v1/tasks/7f3a")?.body == Array("task 7f3a".utf8))
        #expect(Self.route(router, "GET", "/api/v1/tasks/a%2Fb%20c")?.body == Array("task a/b c".utf8))
        #expect(Self.route(router, "GET", "/api/v1/schedules/nightly/executions/3")?.body
            == Array("nightly page 3".utf8))
    }

    @Test func aLiteralSegmentBeatsAParameterWhateverTheRegistrationOrder() {
        let router = Self.sampleRouter()
        #expect(Self.route(router, "GET", "/api/v1/tasks/stats")?.body == Array("stats".utf8))
    }

    @Test func anEmptySegmentDoesNotFillAParameter() {
        #expect(Self.route(Self.sampleRouter(), "GET", "/api/v1/tasks/")?.status == 404)
    }

    @Test func anUnknownPathGets404InTheHouseErrorShape() throws {
        let response = try #require(Self.route(Self.sampleRouter(), "GET", "/nope"))
        #expect(response.status == 404)
        #expect(response.header("Content-Type") == "application/json")
        #expect(String(decoding: response.body, as: UTF8.self).contains("\"code\":\"NOT_FOUND\""))
    }

    @Test func aKnownPathWithAnotherMethodGets405WithAllow() throws {
        let response = try #require(Self.route(Self.sampleRouter(), "POST", "/api/v1/tasks/42"))
        #expect(response.status == 405)
        #expect(response.header("Allow") == "DELETE, GET, HEAD")
    }

    @Test func headFallsBackToTheGETRoute() {
        #expect(Self.route(Self.sampleRouter(), "HEAD", "/inspect/active")?.status == 200)
    }

    @Test func theRouterServesThroughTheServer() throws {
        let router = Self.sampleRouter()
        let fixture = try ServerFixture(handler: router.handle)
        let client = fixture.client()
        client.send("GET /api/v1/tasks/abc?verbose=1 HTTP/1.1\r\n\r\nPUT /inspect/active HTTP/1.1\r\n\r\n")
        #expect(try #require(client.readResponse()).text == "task abc")
        let refused = try #require(client.readResponse())
        #expect(refused.status == 405 && refused.header("Allow") == "GET, HEAD")
        fixture.close()
    }
}
