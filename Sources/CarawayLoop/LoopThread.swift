#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Remembers the thread that built a loop-confined object, so entry points can assert (debug
/// builds only) that nobody calls in from another thread. libuv handles and client connections (Redis, Postgres, HTTP) are not
/// thread-safe: a call from elsewhere corrupts state silently, so failing loudly in tests is
/// worth the check.
package struct LoopThread {
    private let owner = pthread_self()

    package init() {}

    package func assertCurrent(_ function: StaticString = #function) {
        assert(pthread_equal(owner, pthread_self()) != 0, "\(function) called off the loop thread")
    }
}
