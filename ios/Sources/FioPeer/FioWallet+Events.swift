// Written by hand, beside the generated FioPeer.swift: the wallet's event
// log as an AsyncThrowingStream. uniffi's Swift async calls do not pass a
// Task's cancellation on to Rust, so the wait is cancelled with a
// SyncCancel handle when the iterating task is.
import Foundation

extension FioWallet {
    /// The wallet's logged events after `after` (`nil`: after the last one
    /// marked handled with `markEventsHandled` when iteration starts),
    /// oldest first, then each new one as it is committed, for as long as
    /// the stream is iterated.
    ///
    /// Read from the event log in the wallet's database a page at a time, as
    /// the consumer asks for them, so nothing is dropped or repeated: an
    /// event that happened before iteration started comes first, and a slow
    /// consumer only falls behind (the log keeps up to 10,000 events). Each
    /// element carries its `id`: keep the last one handled (or call
    /// `markEventsHandled(id:)`) and start the next stream there.
    ///
    /// The stream finishes when the wallet is shut down or the iterating
    /// task is cancelled; other errors are thrown. Events another process
    /// commits (the app, an extension) are seen within `waitMs`.
    public func eventStream(
        after: Int64? = nil, pageSize: Int32 = 100, waitMs: Int64 = 30_000
    ) -> AsyncThrowingStream<EventEntry, Error> {
        let pager = EventPager(wallet: self, after: after, pageSize: max(pageSize, 1),
                               waitMs: max(waitMs, 1))
        return AsyncThrowingStream(unfolding: { try await pager.next() })
    }
}

/// One stream's cursor and the page it is handing out.
private actor EventPager {
    let wallet: FioWallet
    let pageSize: Int32
    let waitMs: Int64
    var cursor: Int64?
    var page: [EventEntry] = []

    init(wallet: FioWallet, after: Int64?, pageSize: Int32, waitMs: Int64) {
        self.wallet = wallet
        self.cursor = after
        self.pageSize = pageSize
        self.waitMs = waitMs
    }

    /// The next event, waiting for it; `nil` ends the stream.
    func next() async throws -> EventEntry? {
        do {
            if cursor == nil { cursor = try wallet.handledEventId() }
            while page.isEmpty {
                if Task.isCancelled { return nil }
                let handle = SyncCancel()
                let (wallet, after, limit, wait) = (self.wallet, cursor, pageSize, waitMs)
                page = try await withTaskCancellationHandler {
                    try await wallet.nextEvents(after: after, limit: limit, timeoutMs: wait, cancel: handle)
                } onCancel: {
                    handle.cancel()
                }
            }
        } catch FioPeerError.Closed, FioPeerError.Cancelled {
            return nil
        }
        let entry = page.removeFirst()
        cursor = entry.id
        return entry
    }
}
