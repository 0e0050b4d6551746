import Testing

@testable import CarawayProtocol

@Suite("PythonRepr (Celery saferepr)")
struct PythonReprTests {
    @Test("Rendering matches Celery's saferepr on every captured case, truncation included")
    func capturedSafereprCases() throws {
        let cases = try #require(JSON.parse(Fixture.bytes("saferepr_cases")).arrayValue)
        #expect(cases.count >= 15)
        for testCase in cases {
            let text = try #require(testCase["json"]?.stringValue)
            let maxLength = try #require(testCase["maxlen"]?.intValue)
            let expected = try #require(testCase["repr"]?.stringValue)
            let value = try JSON.parse(text)
            let rendered = testCase["tuple"]?.boolValue == true
                ? PythonRepr.renderTuple(try #require(value.arrayValue), maxLength: maxLength)
                : PythonRepr.render(value, maxLength: maxLength)
            #expect(rendered == expected, "\(text.prefix(80)) with maxlen \(maxLength)")
        }
    }

    @Test("argsrepr and kwargsrepr of captured messages are reproduced from their bodies")
    func capturedHeaders() throws {
        for name in Fixture.messageNames where name != "datetime_kwarg" {
            let message = try Fixture.message(name)
            let argsrepr = try #require(message.headers["argsrepr"]?.stringValue)
            // send_task(args=[...]) sends a list; canvas primitives send tuples.
            let rendered = argsrepr.hasPrefix("[")
                ? PythonRepr.render(.array(message.args)) : PythonRepr.renderTuple(message.args)
            #expect(rendered == argsrepr, "\(name)")
            #expect(PythonRepr.render(.object(message.kwargs)) == message.headers["kwargsrepr"]?.stringValue,
                    "\(name)")
        }
    }

    @Test("Strings use single quotes, escape only quotes, and keep newlines raw like saferepr")
    func strings() {
        #expect(PythonRepr.render("it's") == #"'it\'s'"#)
        #expect(PythonRepr.render("a\nb") == "'a\nb'")
        #expect(PythonRepr.render(["k": nil, "t": true, "f": false]) == "{'k': None, 't': True, 'f': False}")
    }

    @Test("Numbers print as Python's str() of the decoded value")
    func numbers() throws {
        #expect(PythonRepr.render(try JSON.parse("[1E5, -0, 1e400, -1e400, 2.50, NaN]"))
            == "[100000.0, 0, inf, -inf, 2.5, nan]")
    }

    @Test("Single-element tuples get the trailing comma")
    func tuples() {
        #expect(PythonRepr.renderTuple([4]) == "(4,)")
        #expect(PythonRepr.renderTuple([]) == "()")
        #expect(PythonRepr.renderTuple([1, "a"]) == "(1, 'a')")
    }
}
