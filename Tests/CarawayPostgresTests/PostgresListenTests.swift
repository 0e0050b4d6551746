import Testing
import CarawayLoop
@testable import CarawayPostgres

/// PostgresConnection+Listen: LISTEN/NOTIFY between two connections of one loop.
@Suite(.sharedPostgresServer) struct PostgresListenTests {
    @Test func listenReceivesNotifyFromAnotherConnection() throws {
        let h = try PostgresHarness()
        let listener = h.connection("listener")
        let notifier = h.connection("notifier")
        try h.connect(listener, notifier)
        var received: [String] = []
        listener.onNotification = { channel, payload in received.append("\(channel): \(payload)") }
        var listening = false
        listener.listen("Caraway Events") { listening = (try? $0.get()) != nil }
        try h.run("LISTEN") { listening }
        // The listener is idle from here on: the notification arrives with no query in flight.
        notifier.query("SELECT pg_notify($1, $2)", ["Caraway Events", "hello ü"]) { _ in }
        notifier.query("SELECT pg_notify($1, $2)", ["other", "not for us"]) { _ in }
        notifier.query("NOTIFY \"Caraway Events\", 'second'") { _ in }
        try h.run("two notifications") { received.count == 2 }
        #expect(received == ["Caraway Events: hello ü", "Caraway Events: second"])
        listener.close()
        notifier.close()
    }

    @Test func unlistenStopsNotificationsForThatChannelOnly() throws {
        let h = try PostgresHarness()
        let listener = h.connection("listener")
        let notifier = h.connection("notifier")
        try h.connect(listener, notifier)
        var received: [String] = []
        listener.onNotification = { channel, _ in received.append(channel) }
        var done = 0
        listener.listen("a") { _ in done += 1 }
        listener.listen("b") { _ in done += 1 }
        listener.unlisten("a") { _ in done += 1 }
        try h.run("LISTEN, LISTEN, UNLISTEN") { done == 3 }
        notifier.query("SELECT pg_notify('a', ''), pg_notify('b', '')") { _ in }
        try h.run("the notification on b") { received.count == 1 }
        h.spin(seconds: 0.1)
        #expect(received == ["b"] && listener.listenedChannels == ["b"])
        listener.close()
        notifier.close()
    }

    @Test func listenIsReissuedAfterAServerRestart() throws {
        let h = try PostgresHarness(privateServer: true)
        let listener = h.connection("listener")
        let notifier = h.connection("notifier")
        var received: [String] = []
        listener.onNotification = { _, payload in received.append(payload) }
        listener.listen("jobs")  // before connect: remembered, issued on connect
        // Queries issued in onReady run after the re-issued LISTENs: this one marks them done.
        var listensDone = 0
        listener.onReady = { listener.query("SELECT 1") { _ in listensDone += 1 } }
        try h.connect(listener, notifier)
        try h.run("LISTEN after connect") { listensDone == 1 }
        notifier.query("SELECT pg_notify('jobs', 'before')") { _ in }
        try h.run("the first notification") { received.count == 1 }

        try h.server.restart()
        try h.run("LISTEN after reconnect") { listensDone == 2 && notifier.isReady }
        notifier.query("SELECT pg_notify('jobs', 'after')") { _ in }
        try h.run("the notification after the restart") { received.count == 2 }
        #expect(received == ["before", "after"])
        #expect(listener.reconnects == 1 && listener.listenedChannels == ["jobs"])
        listener.close()
        notifier.close()
    }
}
