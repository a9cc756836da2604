// Written by hand, beside the generated FioPeer.swift: the wallet's event
// log as an AsyncThrowingStream. uniffi's Swift async calls do not pass a
// Task's cancellation on to Rust, so the stream cancels its wait with a
// SyncCancel handle when it is dropped or its task is cancelled.
import Foundation

extension FioWallet {
    /// The wallet's logged events after `after` (`nil`: after the last one
    /// marked handled with `markEventsHandled`), oldest first, then each
    /// new one as it is committed, for as long as the stream is iterated.
    ///
    /// Read from the event log in the wallet's database, so nothing is
    /// dropped or repeated: an event that happened before iteration
    /// started comes first, and a slow consumer only falls behind (the log
    /// keeps up to 10,000 events). Each element carries its `id`: keep the
    /// last one handled (or call `markEventsHandled(id:)`) and start the
    /// next stream there.
    ///
    /// The stream finishes when the wallet is shut down or the iterating
    /// task is cancelled; other errors are thrown. Events another process
    /// commits (the app, an extension) are seen within `waitMs`.
    public func eventStream(
        after: Int64? = nil, pageSize: Int32 = 100, waitMs: Int64 = 30_000
    ) -> AsyncThrowingStream<EventEntry, Error> {
        let (stream, continuation) = AsyncThrowingStream<EventEntry, Error>.makeStream()
        let handle = SyncCancel()
        let task = Task { [self] in
            var cursor = after
            do {
                while !Task.isCancelled {
                    let page = try await nextEvents(
                        after: cursor, limit: pageSize, timeoutMs: waitMs, cancel: handle)
                    for entry in page {
                        continuation.yield(entry)
                        cursor = entry.id
                    }
                }
                continuation.finish()
            } catch FioPeerError.Closed, FioPeerError.Cancelled {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in
            handle.cancel()
            task.cancel()
        }
        return stream
    }
}
