/// Shell-style wildcard matching as Python's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]`, `[!seq]`.
///
/// Iterative with one backtrack point (the last `*`), so the cost is O(pattern × name) at worst:
/// patterns arrive from the network (pidbox broadcasts), and a recursive matcher is exponential
/// in the number of stars.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        matches(Array(pattern.unicodeScalars), Array(name.unicodeScalars))
    }

    static func matches(_ p: [Unicode.Scalar], _ s: [Unicode.Scalar]) -> Bool {
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count, p[pi] == "*" {
                starP = pi
                starS = si
                pi += 1
                continue
            }
            if pi < p.count, let width = single(p, at: pi, matching: s[si]) {
                pi += width
                si += 1
                continue
            }
            guard starP >= 0 else { return false }
            // Let the last star take one more character and retry from just after it.
            pi = starP + 1
            starS += 1
            si = starS
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// If the pattern element at `i` matches `c`, its width in the pattern; nil otherwise.
    private static func single(_ p: [Unicode.Scalar], at i: Int, matching c: Unicode.Scalar) -> Int? {
        switch p[i] {
        case "?":
            return 1
        case "[":
            guard let (width, set) = bracket(p, at: i) else { return p[i] == c ? 1 : nil }  // a lone '[' is literal
            return set(c) ? width : nil
        default:
            return p[i] == c ? 1 : nil
        }
    }

    /// Parses `[...]` at `i`: its width and membership test, or nil when unterminated.
    private static func bracket(_ p: [Unicode.Scalar], at i: Int) -> (Int, (Unicode.Scalar) -> Bool)? {
        var j = i + 1
        var negate = false
        if j < p.count, p[j] == "!" { negate = true; j += 1 }
        let start = j
        if j < p.count, p[j] == "]" { j += 1 }  // a leading ']' is a member
        while j < p.count, p[j] != "]" { j += 1 }
        guard j < p.count else { return nil }
        let body = Array(p[start..<j])
        let test: (Unicode.Scalar) -> Bool = { c in
            var k = 0
            var found = false
            while k < body.count {
                if k + 2 < body.count, body[k + 1] == "-" {
                    if body[k].value <= c.value && c.value <= body[k + 2].value { found = true }
                    k += 3
                } else {
                    if body[k] == c { found = true }
                    k += 1
                }
            }
            return found != negate
        }
        return (j - i + 1, test)
    }
}
