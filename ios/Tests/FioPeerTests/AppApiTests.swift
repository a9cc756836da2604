// What a wallet UI reads (issue 16), as bindings/kotlin/Main.kt and
// bindings/python/tests/test_app_api.py test it: delivery state and retry
// after a restart, the event log from a cursor, the AsyncStream adapter
// (FioWallet+Events.swift), paging, presets and printed values.
import Foundation
import XCTest
@testable import FioPeer

/// An open channel alice → bob over the relay.
func channel(_ a: FioWallet, _ b: FioWallet) async throws {
    _ = try await a.sync(); _ = try await b.sync()
    let hello = try await a.openChannel(peer: "bob@bind")
    _ = try await a.sync(); _ = try await b.sync()
    _ = try b.acceptRequest(peer: "alice@bind", messageId: hello.messageId, answer: AcceptanceData())
    _ = try await b.sync(); _ = try await a.sync()
}

func mine(_ w: FioWallet, _ id: String) throws -> Message {
    try w.history(peer: "bob@bind").first { $0.content.messageId == id }!
}

func memos(_ entries: [EventEntry]) -> [String] {
    entries.compactMap {
        if case let .queueItemAdded(entry) = $0.event { return entry.message.content.memo }
        return nil
    }
}

/// Collects a stream's elements on a task of its own.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [EventEntry] = []
    func add(_ e: EventEntry) { lock.lock(); items.append(e); lock.unlock() }
    var all: [EventEntry] { lock.lock(); defer { lock.unlock() }; return items }
}

final class AppApiTests: XCTestCase {
    func testAFailedDeliveryIsVisibleAfterReopeningAndRetried() async throws {
        let dir = tempDir()
        var a: FioWallet? = try openWallet(dir, "alice")
        let b = try openWallet(dir, "bob")
        try await channel(a!, b)
        // An inbox that refuses every envelope for good.
        _ = try b.updateComData(peer: "alice@bind", inbox: env("FIO_TEST_REFUSING"))
        _ = try await b.sync(); _ = try await a!.sync()
        let sent = try a!.sendPrivateText(peer: "bob@bind", text: "lost?")
        XCTAssertEqual(try mine(a!, sent.messageId).delivery, .queued)
        let failedCount = try await a!.sync().failed
        XCTAssertEqual(failedCount, 1)
        a!.shutdown()
        a = nil

        let again = try openWallet(dir, "alice")
        let failed = try mine(again, sent.messageId).delivery
        guard case let .failed(attempts, reason)? = failed else { return XCTFail("\(String(describing: failed))") }
        XCTAssertEqual(attempts, 1)
        XCTAssertTrue(reason.contains("413"), reason)
        XCTAssertTrue(String(describing: failed!).hasPrefix("failed after 1 attempt"))
        XCTAssertEqual(try again.outbox().first { $0.content.messageId == sent.messageId }?.delivery, failed)
        try again.retryDelivery(peer: "bob@bind", messageId: sent.messageId)
        XCTAssertEqual(try mine(again, sent.messageId).delivery, .queued)
        let delivered = try await again.sync().delivered
        XCTAssertGreaterThanOrEqual(delivered, 1)
        guard case let .delivered(seq, _)? = try mine(again, sent.messageId).delivery else { return XCTFail() }
        XCTAssertGreaterThan(seq ?? 0, 0)
        XCTAssertFalse(try again.outbox().contains { $0.content.messageId == sent.messageId })
        _ = try await b.sync()
        XCTAssertTrue(try b.history(peer: "alice@bind").contains { $0.content.memo == "lost?" })
    }

    func testEventsAreReadFromACursorAfterARestart() async throws {
        let dir = tempDir()
        let a = try openWallet(dir, "alice")
        var b: FioWallet? = try openWallet(dir, "bob")
        try await channel(a, b!)
        let before = try b!.events()
        guard case .queueItemAdded? = before.first?.event else { return XCTFail("\(before)") }
        try b!.markEventsHandled(id: before.last!.id)
        b!.shutdown()
        b = nil
        for i in 0..<3 { _ = try a.sendPrivateText(peer: "bob@bind", text: "t\(i)") }
        _ = try await a.sync()
        let job = try openWallet(dir, "bob")  // a background job
        _ = try await job.sync()
        job.shutdown()

        let reopened = try openWallet(dir, "bob")
        let after = try reopened.events()
        XCTAssertEqual(memos(after), ["t0", "t1", "t2"])
        XCTAssertGreaterThan(after.first!.id, before.last!.id)
        XCTAssertEqual(after.map(\.id), Array(Set(after.map(\.id))).sorted())
        XCTAssertTrue(try reopened.events(after: after.last!.id).isEmpty)
    }

    func testTheAsyncStreamDeliversAnEventFromBeforeAndEveryLaterOneInOrder() async throws {
        let dir = tempDir()
        let a = try openWallet(dir, "alice")
        let b = try openWallet(dir, "bob")
        try await channel(a, b)
        _ = try a.sendPrivateText(peer: "bob@bind", text: "before")
        _ = try await a.sync(); _ = try await b.sync()
        let got = Collected()
        let stream = b.eventStream(after: 0)
        let reading = Task {
            for try await entry in stream { got.add(entry) }
        }
        XCTAssertTrue(eventually { memos(got.all).contains("before") })
        for i in 0..<3 { _ = try a.sendPrivateText(peer: "bob@bind", text: "after \(i)") }
        _ = try await a.sync(); _ = try await b.sync()
        XCTAssertTrue(eventually { memos(got.all).count >= 4 })
        XCTAssertEqual(memos(got.all), ["before", "after 0", "after 1", "after 2"])
        let ids = got.all.map(\.id)
        XCTAssertEqual(ids, Array(Set(ids)).sorted())
        XCTAssertEqual(Array(try b.events(after: 0, limit: 1000).map(\.id).prefix(ids.count)), ids)
        // Cancelling the reading task ends the stream (and its wait) at once.
        let start = Date()
        reading.cancel()
        _ = try? await reading.value
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
    }

    func testPagingOverAThousandMessagesReturnsEachOnce() async throws {
        let dir = tempDir()
        let a = try openWallet(dir, "alice")
        let b = try openWallet(dir, "bob")
        try await channel(a, b)
        var sent: [String] = []
        for i in 0..<1000 { sent.append(try a.sendPrivateText(peer: "bob@bind", text: "m\(i)").messageId) }
        var seen: [Message] = []
        var before: Int64? = nil
        while true {
            let page = try a.history(peer: "bob@bind", before: before, limit: 97)
            if page.isEmpty { break }
            seen += page
            before = page.last!.id
        }
        XCTAssertEqual(seen.filter { $0.action == .sendPrivateText }.map(\.content.messageId), sent.reversed())
        XCTAssertEqual(Set(seen.map(\.id)).count, seen.count)
    }

    func testPresetsMessagesAndPrintedValues() throws {
        let nodes = networkNodes(network: .mainnet)
        XCTAssertFalse(nodes.isEmpty)
        XCTAssertTrue(nodes.allSatisfy { $0.hasPrefix("https://") })
        XCTAssertEqual(String(describing: Network.mainnet), "mainnet")
        XCTAssertEqual(String(describing: MessageStatus.delivered(seq: 7)), "delivered (seq 7)")
        XCTAssertEqual(String(describing: DeliveryState.queued), "queued")
        let dir = tempDir()
        let w = try FioWallet.open(key: FioKey.fromWif(wif: alice), config: WalletConfig(
            databasePath: dir.appendingPathComponent("t.sqlite").path, fioAddress: "alice@bind",
            network: .testnet))
        w.shutdown()
        XCTAssertThrowsError(try w.queue()) { error in
            XCTAssertEqual(String(describing: error), "the wallet was closed")
            XCTAssertEqual(error.localizedDescription, "the wallet was closed")
            XCTAssertEqual((error as! FioPeerError).code(), 12)
        }
        XCTAssertThrowsError(try FioWallet.open(key: FioKey.fromWif(wif: alice), config: WalletConfig(
            databasePath: dir.appendingPathComponent("c.sqlite").path, fioAddress: "alice@bind",
            network: .custom(chainId: String(repeating: "00", count: 32))))) { error in
            guard case let FioPeerError.InvalidInput(field, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "chain_nodes")
        }
    }
}
