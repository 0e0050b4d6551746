import CarawayHTTP
import CarawayProtocol

/// Wraps a handler so it runs only with `Authorization: Bearer <token>` when the node has an
/// admin token; without a token (loopback-only by construction) it runs as is.
typealias AdminGuard = (HTTPRequest, HTTPResponder, () -> Void) -> Void

func makeAdminGuard(token: String?) -> AdminGuard {
    { request, responder, body in
        guard let token else { body(); return }
        let presented = request.header("Authorization") ?? ""
        guard presented.hasPrefix("Bearer "), constantTimeEquals(String(presented.dropFirst(7)), token) else {
            var response = APIError(status: 401, message: "this route needs Authorization: Bearer <admin token>").response
            response.headers.append(("WWW-Authenticate", "Bearer"))
            responder.respond(response)
            return
        }
        body()
    }
}
