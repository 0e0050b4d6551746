/// What a worker publishes after a task finishes, following Celery's
/// `_dispatch_callbacks_and_chain` (`celery/app/trace.py`) and `_call_task_errbacks`
/// (`celery/backends/base.py`), spec §1.4.
extension CeleryMessage {
    /// The next chain step after a success, or `nil` at the end of the chain.
    ///
    /// `embed.chain` is stored reversed: the next step is the *last* element; the elements
    /// before it become the new message's chain (an empty list when it was the final step,
    /// as Python sends). The result is prepended to its args unless the step is immutable;
    /// `parent_id` is this task and `root_id` carries on. Publish it *before* storing this
    /// task's result so the result's `children` can name it.
    /// - Parameters:
    ///   - result: this task's return value.
    ///   - context: clock, origin and id source for steps without a pre-assigned id.
    /// - Throws: ``ProtocolError`` if the stored step is not a valid signature.
    public func nextInChain(result: JSON, context: Signature.ApplyContext) throws(ProtocolError)
        -> CeleryMessage.Draft?
    {
        var remaining = chain
        guard let last = remaining.popLast() else { return nil }
        let step = try Signature(json: last)
        return try step.draft(prependingArgs: [result], parentID: id, rootID: effectiveRootID,
                              chain: remaining, context: context)
    }

    /// Messages for `embed.callbacks` (`link`) after a success, each with `[result]`
    /// prepended (unless immutable). Python sends two or more callbacks as a group; these
    /// are sent individually, which differs only in the group bookkeeping.
    public func callbackDrafts(result: JSON, context: Signature.ApplyContext) throws(ProtocolError)
        -> [CeleryMessage.Draft]
    {
        var drafts: [CeleryMessage.Draft] = []
        for callback in callbacks {
            drafts += try Signature(json: callback).drafts(prependingArgs: [result], parentID: id,
                                                           rootID: effectiveRootID, context: context)
        }
        return drafts
    }

    /// Messages for `embed.errbacks` (`link_error`) after a failure, each with
    /// `[failed task id]` prepended: a non-Python worker cannot pass the
    /// `(request, exc, traceback)` that Python calls new-style errbacks with in-process.
    public func errbackDrafts(context: Signature.ApplyContext) throws(ProtocolError) -> [CeleryMessage.Draft] {
        var drafts: [CeleryMessage.Draft] = []
        for errback in errbacks {
            drafts += try Signature(json: errback).drafts(prependingArgs: [.string(id)], parentID: id,
                                                          rootID: effectiveRootID, context: context)
        }
        return drafts
    }

    /// Task ids pre-assigned to the remaining chain steps, next step first. On failure
    /// these must be marked FAILURE too, so clients waiting on the chain's final result
    /// do not hang (spec §1.4).
    public var chainTaskIDs: [String] {
        chain.reversed().compactMap { $0["options"]?["task_id"]?.stringValue }
    }
}
