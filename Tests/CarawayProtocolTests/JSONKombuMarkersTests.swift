import Testing

@testable import CarawayProtocol

@Suite("kombu type markers")
struct JSONKombuMarkersTests {
    @Test("The captured datetime kwargs are recognised as kombu markers")
    func capturedMarkers() throws {
        let message = try Fixture.message("datetime_kwarg")
        #expect(message.kwargs["when"]?.kombuMarker?.type == "datetime")
        #expect(message.kwargs["when"]?.kombuDatetimeEpoch == 1_704_164_645)
        #expect(message.kwargs["day"]?.kombuDatetimeEpoch == 1_704_153_600)
        #expect(message.kwargs["amount"]?.kombuMarker == JSON.KombuMarker(type: "decimal", value: "12.50"))
        #expect(message.kwargs["ident"]?.kombuMarker?.value["hex"] == "12345678123456781234567812345678")
        #expect(message.kwargs["blob"]?.kombuMarker?.type == "base64")
    }

    @Test("Only objects with exactly the two marker keys count")
    func exactKeySet() {
        let extra: JSON = ["__type__": "datetime", "__value__": "x", "other": 1]
        #expect(extra.kombuMarker == nil)
        #expect(JSON.string("2024-01-02T03:04:05+00:00").kombuMarker == nil)
        #expect(JSON.string("2024-01-02T03:04:05Z").kombuDatetimeEpoch == 1_704_164_645)
    }

    @Test("A Swift-made datetime marker matches kombu's shape")
    func makeMarker() {
        #expect(JSON.kombuDatetime(epochSeconds: 1_704_164_645).serializedString()
            == #"{"__type__":"datetime","__value__":"2024-01-02T03:04:05+00:00"}"#)
    }

    @Test("Markers pass through a decode and re-publish untouched")
    func passThrough() throws {
        let message = try Fixture.message("datetime_kwarg")
        let again = try CeleryMessage.decode(message.republished(redelivered: true))
        #expect(again.kwargs == message.kwargs)
    }
}
