import Testing

@testable import CarawayProtocol

@Suite("JSONObject")
struct JSONObjectTests {
    @Test("Setting an existing key replaces it in place; a new key is appended")
    func setKeepsOrder() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = 10
        object["c"] = 3
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == 10)
    }

    @Test("Assigning nil removes a key while JSON null is stored")
    func nilRemoves() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = nil
        object["b"] = .null
        #expect(object.keys == ["b"])
        #expect(object["b"] == .null)
        #expect(object.removeValue(forKey: "b") == .null)
        #expect(object.removeValue(forKey: "zz") == nil)
        #expect(object.isEmpty)
    }

    @Test("Large objects stay consistent across the switch to a hash index")
    func indexedLookups() {
        var object = JSONObject()
        for i in 0..<100 { object["k\(i)"] = JSON(i) }
        #expect(object.count == 100)
        #expect(object["k57"] == 57)
        object["k57"] = "x"
        #expect(object.keys[57] == "k57")
        object.removeValue(forKey: "k3")
        #expect(object["k4"] == 4)
        #expect(object.keys[3] == "k4")
        for i in 0..<90 { object.removeValue(forKey: "k\(i)") }
        #expect(object.keys == (90..<100).map { "k\($0)" })
        #expect(object["k95"] == 95)
    }

    @Test("Equality ignores key order, like Python dicts")
    func equalityIgnoresOrder() {
        let a: JSONObject = ["x": 1, "y": [2]]
        let b: JSONObject = ["y": [2], "x": 1]
        #expect(a == b)
        #expect(a != ["x": 1])
        #expect(a != ["x": 1, "y": [3]])
    }

    @Test("Iteration yields pairs in order")
    func iteration() {
        let object: JSONObject = ["b": 1, "a": 2]
        #expect(object.map(\.key) == ["b", "a"])
        #expect(object.values == [1, 2])
    }
}
