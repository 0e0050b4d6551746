/// Renders JSON values the way Celery's `saferepr` renders the Python objects they decode
/// to, for the `argsrepr`/`kwargsrepr` headers that Flower, events and worker logs show.
///
/// This follows `celery/utils/saferepr.py` (Celery 5.7) token by token, because the
/// output is compared by people reading Flower side by side with Python-sent tasks:
/// - strings are wrapped in single quotes with only `'` escaped (saferepr does not use
///   `repr()` for strings, so newlines stay raw);
/// - `None`, `True`, `False`, ints as written, floats as Python's `repr(float)`;
/// - containers nested `maxLevels` deep collapse to `[...]` / `{...}`;
/// - once `maxLength` characters are used up, the rest becomes `, ...` plus the closing
///   brackets of the containers still open, and a string or number crossing the limit
///   is cut at its last space and given `...`.
///
/// kombu type markers render as the dicts they are on the wire, not as
/// `datetime.datetime(...)`; that only affects display.
public enum PythonRepr {
    /// Celery's `argsrepr_maxsize` / `kwargsrepr_maxsize`.
    public static let defaultMaxLength = 1024
    /// Celery's `task_repr_maxlevels` default.
    public static let defaultMaxLevels = 3

    /// `saferepr(value)`.
    public static func render(_ value: JSON, maxLength: Int = defaultMaxLength,
                              maxLevels: Int = defaultMaxLevels) -> String {
        var renderer = Renderer(remaining: maxLength, maxLevels: maxLevels)
        _ = renderer.walk(value, level: 0)
        return renderer.output
    }

    /// `saferepr(tuple(args))`: what a Python client shows for `task.delay(*args)` and what a
    /// Python worker shows for chain steps and callbacks, e.g. `(2, 3)` or `(4,)`.
    public static func renderTuple(_ elements: [JSON], maxLength: Int = defaultMaxLength,
                                   maxLevels: Int = defaultMaxLevels) -> String {
        var renderer = Renderer(remaining: maxLength, maxLevels: maxLevels)
        _ = renderer.walkSequence(elements, open: "(", close: elements.count == 1 ? ",)" : ")", level: 0)
        return renderer.output
    }

    /// Python's `str(x)` for a JSON number: ints keep their digits, floats print as `repr(float)`.
    public static func render(number: JSONNumber) -> String {
        if number.isInteger { return number.text == "-0" ? "0" : number.text }
        guard let value = number.double else { return number.text }
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return value.description
    }
}

/// The token machine of `_saferepr`: every token is checked against the remaining budget.
private struct Renderer {
    enum Token {
        case open(String)
        case close(String)
        /// `', '` and `': '`: separators that the budget may replace with `', ...'`.
        case separator(String)
        /// A collapsed container (`[...]`), never cut in half.
        case collapsed(String)
        case quoted(String)
        case text(String)
    }

    var remaining: Int
    let maxLevels: Int
    var output = ""
    /// Closing brackets of the containers opened so far, innermost last.
    var openClosers: [String] = []
    var finished = false

    init(remaining: Int, maxLevels: Int) {
        self.remaining = remaining
        self.maxLevels = maxLevels
    }

    /// Feeds one token; returns false once the budget ran out and the output is complete.
    mutating func feed(_ token: Token) -> Bool {
        if finished { return false }
        if remaining <= 0 {
            if case .close(let closer) = token {
                // The cut value was the last in its container: nothing is left out.
                output += closer
                openClosers.removeLast()
                return true
            }
            output += ", ..."
            for closer in openClosers.reversed() { output += closer }
            openClosers.removeAll()
            finished = true
            return false
        }
        let text: String
        switch token {
        case .open(let value), .close(let value), .separator(let value), .collapsed(let value):
            text = value
        case .quoted(let value):
            text = "'" + Self.truncate(value, remaining).replacingSingleQuotes() + "'"
        case .text(let value):
            text = Self.truncate(value, remaining)
        }
        output += text
        remaining -= text.unicodeScalars.count
        return true
    }

    mutating func walk(_ value: JSON, level: Int) -> Bool {
        switch value {
        case .null: return feed(.text("None"))
        case .bool(let flag): return feed(.text(flag ? "True" : "False"))
        case .number(let number): return feed(.text(PythonRepr.render(number: number)))
        case .string(let string): return feed(.quoted(string))
        case .array(let elements): return walkSequence(elements, open: "[", close: "]", level: level)
        case .object(let object):
            if level >= maxLevels { return feed(.collapsed("{...}")) }
            guard open("{", "}") else { return false }
            var first = true
            for (key, element) in object {
                if !first { guard feed(.separator(", ")) else { return false } }
                first = false
                guard feed(.quoted(key)), feed(.separator(": ")), walk(element, level: level + 1) else {
                    return false
                }
            }
            return close()
        }
    }

    mutating func walkSequence(_ elements: [JSON], open opener: String, close closer: String, level: Int) -> Bool {
        if level >= maxLevels { return feed(.collapsed(opener + "..." + closer)) }
        guard open(opener, closer) else { return false }
        for (i, element) in elements.enumerated() {
            if i > 0 { guard feed(.separator(", ")) else { return false } }
            guard walk(element, level: level + 1) else { return false }
        }
        return close()
    }

    private mutating func open(_ opener: String, _ closer: String) -> Bool {
        guard feed(.open(opener)) else { return false }
        openClosers.append(closer)
        return true
    }

    private mutating func close() -> Bool {
        guard let closer = openClosers.last else { return !finished }
        let wasCut = remaining <= 0
        guard feed(.close(closer)) else { return false }
        // feed() already popped the closer when the budget was exhausted.
        if !wasCut { openClosers.removeLast() }
        return true
    }

    /// Celery's `truncate(s, maxlen)`: at or over the limit, keep `maxlen` characters,
    /// drop everything from the last space, and add `...`.
    static func truncate(_ text: String, _ maxLength: Int) -> String {
        let scalars = text.unicodeScalars
        guard maxLength > 0, scalars.count >= maxLength else { return text }
        var kept = String(String.UnicodeScalarView(scalars.prefix(maxLength)))
        if let space = kept.unicodeScalars.lastIndex(of: " ") {
            kept = String(kept.unicodeScalars[..<space])
        }
        return kept + "..."
    }
}

extension String {
    fileprivate func replacingSingleQuotes() -> String {
        guard utf8.contains(UInt8(ascii: "'")) else { return self }
        var result = ""
        result.reserveCapacity(utf8.count + 4)
        for scalar in unicodeScalars {
            if scalar == "'" { result += "\\'" } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}
