import CarawayHTTP
import CarawayProtocol

/// Registers the REST API on `router`. Mutating routes need `Authorization: Bearer <admin token>`
/// when the node has one (`--admin-token`); reads are open on the (loopback by default) listener.
func registerAPI(on router: Router, context: APIContext, openAPI: [UInt8]) {
    let admin = makeAdminGuard(token: context.adminToken)
    ScheduleAPI(context: context).register(on: router, guarding: admin)
    TaskAPI(context: context).register(on: router, guarding: admin)
    ExecutionAPI(context: context).register(on: router)
}
