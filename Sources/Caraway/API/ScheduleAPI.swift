import CarawayHTTP
import CarawayProtocol
import CarawayStore

/// `/api/v1/schedules…`: CRUD, enable/disable, run now, executions of one schedule.
struct ScheduleAPI {
    let context: APIContext

    func register(on router: Router, guarding admin: @escaping (HTTPRequest, HTTPResponder, () -> Void) -> Void) {
        router.get("/api/v1/schedules") { _, responder in
            context.store.scheduleList { result in
                switch result {
                case .success(let rows): responder.respond(json: ["schedules": .array(rows.map(\.json))])
                case .failure(let error): responder.respondUnavailable(error)
                }
            }
        }
        router.post("/api/v1/schedules") { request, responder in
            admin(request, responder) {
                do {
                    let definition = try ScheduleBody.definition(from: try request.jsonObject(), base: nil,
                                                                 registry: context.registry, now: context.clock.now)
                    context.store.scheduleInsert(definition) { result in
                        switch result {
                        case .success(let row): responder.respond(json: row.json, status: 201)
                        case .failure(.server(let state, _, _)) where state == "23505":
                            responder.respond(APIError(status: 409, message: "a schedule named '\(definition.name)' exists", field: "name"))
                        case .failure(let error): responder.respondUnavailable(error)
                        }
                    }
                } catch { responder.respond(error: error) }
            }
        }
        router.get("/api/v1/schedules/{id}") { request, responder in
            withSchedule(request, responder) { row in responder.respond(json: row.json) }
        }
        router.put("/api/v1/schedules/{id}") { request, responder in
            admin(request, responder) { update(request, responder, patch: false) }
        }
        router.add("PATCH", "/api/v1/schedules/{id}") { request, responder in
            admin(request, responder) { update(request, responder, patch: true) }
        }
        router.delete("/api/v1/schedules/{id}") { request, responder in
            admin(request, responder) {
                do {
                    let id = try request.int64Parameter("id")
                    context.store.scheduleDelete(id: id) { result in
                        switch result {
                        case .success(true): responder.respond(HTTPResponse(status: 204))
                        case .success(false): responder.respond(APIError.notFound("schedule \(id)"))
                        case .failure(let error): responder.respondUnavailable(error)
                        }
                    }
                } catch { responder.respond(error: error) }
            }
        }
        for (action, enabled) in [("enable", true), ("disable", false)] {
            router.post("/api/v1/schedules/{id}/\(action)") { request, responder in
                admin(request, responder) {
                    withSchedule(request, responder) { row in
                        var definition = ScheduleDefinition(record: row)
                        definition.enabled = enabled
                        // Re-enabling starts from now (the leader recomputes): no burst of missed ticks.
                        if enabled, !row.enabled { definition.nextRunAt = nil }
                        save(row.id, definition, responder)
                    }
                }
            }
        }
        router.post("/api/v1/schedules/{id}/run") { request, responder in
            admin(request, responder) {
                withSchedule(request, responder) { row in
                    let id = makeUUID()
                    TaskAPI.publish(context: context, task: row.task, id: id, args: row.args.arrayValue ?? [],
                                       kwargs: row.kwargs.objectValue ?? [:], queue: row.queue, eta: nil, expires: nil, priority: 0,
                                       headers: ["periodic_task_name": .string(row.name), "caraway_schedule_id": JSON(Int(row.id))]) { error in
                        if let error { responder.respondUnavailable(error) } else {
                            responder.respond(json: ["task_id": .string(id), "schedule_id": JSON(Int(row.id))], status: 202)
                        }
                    }
                }
            }
        }
        router.get("/api/v1/schedules/{id}/executions") { request, responder in
            withSchedule(request, responder) { row in
                do {
                    var filter = try ExecutionAPI.filter(from: request)
                    filter.scheduleID = row.id
                    ExecutionAPI.list(context: context, filter: filter, responder: responder)
                } catch { responder.respond(error: error) }
            }
        }
    }

    private func withSchedule(_ request: HTTPRequest, _ responder: HTTPResponder, _ body: @escaping (ScheduleRecord) -> Void) {
        do {
            let id = try request.int64Parameter("id")
            context.store.scheduleGet(id: id) { result in
                switch result {
                case .success(let row?): body(row)
                case .success(nil): responder.respond(APIError.notFound("schedule \(id)"))
                case .failure(let error): responder.respondUnavailable(error)
                }
            }
        } catch { responder.respond(error: error) }
    }

    private func update(_ request: HTTPRequest, _ responder: HTTPResponder, patch: Bool) {
        withSchedule(request, responder) { row in
            do {
                let body = try request.jsonObject()
                let definition = try ScheduleBody.definition(from: body, base: patch ? ScheduleDefinition(record: row) : nil,
                                                             registry: context.registry, now: context.clock.now)
                save(row.id, definition, responder)
            } catch { responder.respond(error: error) }
        }
    }

    private func save(_ id: Int64, _ definition: ScheduleDefinition, _ responder: HTTPResponder) {
        context.store.scheduleUpdate(id: id, definition) { result in
            switch result {
            case .success(let row?): responder.respond(json: row.json)
            case .success(nil): responder.respond(APIError.notFound("schedule \(id)"))
            case .failure(.server(let state, _, _)) where state == "23505":
                responder.respond(APIError(status: 409, message: "a schedule named '\(definition.name)' exists", field: "name"))
            case .failure(let error): responder.respondUnavailable(error)
            }
        }
    }
}
