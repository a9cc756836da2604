// Written by hand, beside the generated FioPeer.swift: uniffi's Swift async
// calls do not pass a Task's cancellation on to Rust, so this one does it
// with a SyncCancel handle.
import Foundation

extension FioWallet {
    /// `sync()`, cancelled when the calling Task is: it then throws
    /// `FioPeerError.Cancelled`, having stopped at once even in a long poll.
    public func cancellableSync() async throws -> SyncSummary {
        let handle = SyncCancel()
        return try await withTaskCancellationHandler {
            try await sync(cancel: handle)
        } onCancel: {
            handle.cancel()
        }
    }
}
