// The Kotlin suite's story (bindings/kotlin/Main.kt) in Swift: all ten
// FIP-24 actions between two wallets, the FIP-3 stories, and how the
// bindings behave (async calls, typed errors, callbacks from the library's
// threads, the logger bridge, cancellation, release). Run by
// bindings/swift/test.sh (Linux, CI) and ios/run-tests.sh (macOS), which
// start the devnet and relay and set FIO_TEST_*.
import Foundation
import XCTest
@testable import FioPeer

let alice = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK"
let bob = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt"
let keys = ["alice": alice, "bob": bob]

func env(_ name: String) -> String {
    guard let value = ProcessInfo.processInfo.environment[name] else {
        fatalError("\(name) is not set: run ios/run-tests.sh")
    }
    return value
}

func tempDir() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func config(_ dir: URL, _ name: String, longPoll: Int32 = 0,
            database: String? = nil, nodes: [String]? = nil) -> WalletConfig {
    WalletConfig(
        databasePath: dir.appendingPathComponent("\(database ?? name).sqlite").path,
        fioAddress: "\(name)@bind",
        network: .custom(chainId: env("FIO_TEST_CHAIN_ID")), chainNodes: nodes ?? [env("FIO_TEST_DEVNET")],
        relay: env("FIO_TEST_RELAY"), longPollSeconds: longPoll, tpid: "",
        allowInsecureDestinations: true)  // the test relay is on loopback
}

/// The wallet `name` (with `key`'s private key instead of its own, if given).
func openWallet(_ dir: URL, _ name: String, longPoll: Int32 = 0, key: String? = nil,
                database: String? = nil, nodes: [String]? = nil,
                databaseKey: FioDatabaseKey? = nil) throws -> FioWallet {
    try FioWallet.open(
        key: FioKey.fromWif(wif: key ?? keys[name]!),
        config: config(dir, name, longPoll: longPoll, database: database, nodes: nodes),
        databaseKey: databaseKey)
}

/// Waits up to `seconds` for `condition`, polling; returns whether it held.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return condition()
}

/// The library's event threads in this process (Linux names them in /proc).
func eventThreads() -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter {
        (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) == "fio-peer-events"
    }.count
}

/// Records the logger bridge's calls and whether any came on `caller`.
final class LogRecorder: Logger, @unchecked Sendable {
    private let lock = NSLock()
    private var records: [(LogLevel, String)] = []
    private(set) var onMainThread = false

    func log(level: LogLevel, target: String, message: String) throws {
        lock.lock(); defer { lock.unlock() }
        records.append((level, message))
        if Thread.isMainThread { onMainThread = true }
    }

    func snapshot() -> [(LogLevel, String)] {
        lock.lock(); defer { lock.unlock() }
        return records
    }
}

/// A listener with a bug: it throws on every event, and counts them.
final class Thrower: WalletListener, @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var calls: Int { lock.lock(); defer { lock.unlock() }; return count }

    func onEvent(event: WalletEvent) throws {
        lock.lock(); count += 1; lock.unlock()
        throw FioPeerError.Internal(detail: "a bug in the app")
    }
}

/// Keeps every event and whether it came on the main thread.
final class Recorder: WalletListener, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [WalletEvent] = []
    private(set) var onMainThread = false

    func onEvent(event: WalletEvent) throws {
        lock.lock(); defer { lock.unlock() }
        events.append(event)
        if Thread.isMainThread { onMainThread = true }
    }

    /// Events come on the library's thread, maybe after the call returned.
    func waitFor(_ what: String, _ predicate: (WalletEvent) -> Bool) {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            lock.lock()
            let found = events.contains(where: predicate)
            lock.unlock()
            if found { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("no event: \(what)")
    }
}

func status(_ event: WalletEvent, _ id: String) -> MessageStatus? {
    if case let .messageStatusChanged(_, messageId, status) = event, messageId == id { return status }
    return nil
}

func both(_ a: FioWallet, _ b: FioWallet) async throws {
    _ = try await a.sync(); _ = try await b.sync(); _ = try await a.sync()
}

final class FioPeerTests: XCTestCase {
    func testKeysMatchFiojsAndBadInputIsTyped() throws {
        XCTAssertEqual(try newMnemonic(words: 12).split(separator: " ").count, 12)
        XCTAssertEqual(try FioKey.fromWif(wif: alice).publicKey(), "FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv")
        XCTAssertThrowsError(try newMnemonic(words: 13)) { error in
            guard case let FioPeerError.InvalidInput(field, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "words")
            XCTAssertEqual((error as! FioPeerError).code(), 1)
        }
    }

    func testAllTenActionsOverHttp() async throws {
        let dir = tempDir()
        let a = try openWallet(dir, "alice")
        let b = try openWallet(dir, "bob")
        let heardByAlice = Recorder(), heardByBob = Recorder()
        a.setListener(listener: heardByAlice)
        b.setListener(listener: heardByBob)
        // (XCTest's autoclosures cannot await: values are awaited first.)
        let registeredA = try await a.sync().registered
        let registeredB = try await b.sync().registered
        XCTAssertTrue(registeredA && registeredB)

        let hello = try await a.openChannel(peer: "bob@bind", memo: "Hi Bob")
        XCTAssertEqual(hello.action, .newComRequest)
        let delivered = try await a.sync().delivered
        XCTAssertEqual(delivered, 1)
        let received = try await b.sync().received
        XCTAssertEqual(received, 1)
        let item = try b.queue()[0]
        XCTAssertEqual(item.message.content.memo, "Hi Bob")
        _ = try b.acceptRequest(peer: "alice@bind", messageId: hello.messageId, answer: AcceptanceData())
        // Answered, it no longer waits; its state is in requests.
        XCTAssertTrue(try b.queue().isEmpty)
        XCTAssertEqual(try b.requests(peer: "alice@bind").first { $0.messageId == hello.messageId }?.status, .accepted)
        try b.dismiss(queueId: item.id)
        try await both(a, b)
        XCTAssertEqual(try a.channel(peer: "bob@bind")?.status, .open)

        let invoice = try a.requestFunds(peer: "bob@bind", request: FundsRequestData(
            payeePublicAddress: "bc1qalice", chainCode: "BTC", tokenCode: "BTC", amount: "0.01", memo: "pizza"))
        try await both(a, b)
        _ = try b.acceptRequest(peer: "alice@bind", messageId: invoice.messageId, answer: AcceptanceData(memo: "paid"))
        let ask = try a.requestPublicAddress(peer: "bob@bind", request: AddressRequestData(chainCode: "ETH", tokenCode: "ETH"))
        try await both(a, b)
        _ = try b.acceptRequest(peer: "alice@bind", messageId: ask.messageId, answer: AcceptanceData(payeePublicAddress: "0xb0b"))
        let again = try a.requestFunds(peer: "bob@bind", request: FundsRequestData(
            payeePublicAddress: "bc1qalice", chainCode: "BTC", tokenCode: "BTC", amount: "1"))
        try await both(a, b)
        _ = try a.cancelRequest(peer: "bob@bind", messageId: again.messageId, memo: "never mind")
        let bobs = try b.requestFunds(peer: "alice@bind", request: FundsRequestData(
            payeePublicAddress: "bc1qbob", chainCode: "BTC", tokenCode: "BTC", amount: "2"))
        try await both(a, b)
        _ = try a.rejectRequest(peer: "bob@bind", messageId: bobs.messageId, memo: "no")
        _ = try a.sendPrivateText(peer: "bob@bind", text: "see you at 8", referencedMessageId: nil)
        _ = try b.updateComData(peer: "alice@bind", inbox: nil, rotateToken: true)
        try await both(a, b)
        try await both(a, b)

        let states = Dictionary(uniqueKeysWithValues: try a.requests(peer: "bob@bind").map { ($0.messageId, $0.status) })
        XCTAssertEqual(states[invoice.messageId], .paid)
        XCTAssertEqual(states[ask.messageId], .accepted)
        XCTAssertEqual(states[again.messageId], .cancelled)
        XCTAssertEqual(states[bobs.messageId], .rejected)
        let texts = try b.history(peer: "alice@bind")
            .filter { $0.action == .sendPrivateText && $0.direction == .incoming }.map { $0.content.memo }
        XCTAssertEqual(texts, ["see you at 8"])

        _ = try a.closeChannel(peer: "bob@bind", memo: "bye")
        _ = try await a.sync(); _ = try await b.sync()
        XCTAssertEqual(try b.channel(peer: "alice@bind")?.status, .closed)
        let seen = Set(try a.history(peer: "bob@bind").map { $0.action } + b.history(peer: "alice@bind").map { $0.action })
        XCTAssertEqual(seen.count, 10)

        heardByAlice.waitFor("hello delivered") {
            if case .delivered? = status($0, hello.messageId) { return true }
            return false
        }
        heardByAlice.waitFor("invoice paid") { status($0, invoice.messageId) == .accepted }
        heardByBob.waitFor("bob's request rejected") { status($0, bobs.messageId) == .rejected }
        heardByBob.waitFor("alice's request cancelled") { status($0, again.messageId) == .cancelled }
        XCTAssertFalse(heardByAlice.onMainThread)
    }

    func testFip3Stories() async throws {
        let dir = tempDir()
        let a = try openWallet(dir, "alice")
        let b = try openWallet(dir, "bob")
        let fa = a.friends(), fb = b.friends()
        let friend = try await fa.addFriend(fioAddress: "bob@bind")
        XCTAssertEqual(friend.publicKey, b.publicKey())
        _ = try await fb.addFriend(fioAddress: "alice@bind")
        let listed = try await fb.isOnFriendListOf(fioAddress: "alice@bind")
        XCTAssertTrue(listed)

        _ = try await fa.placeNbpas(nbpas: [
            NbpaData(chainCode: "BTC", tokenCode: "BTC", publicAddress: "bc1qalice"),
            NbpaData(chainCode: "ETH", tokenCode: "USDT", publicAddress: "0xa11ce"),
        ])
        try await fa.grant(friend: "bob@bind", scopes: [.nbpa(chainCode: "BTC", tokenCode: "BTC")])
        let btc = try await fb.lookupNbpa(fioAddress: "alice@bind", chainCode: "BTC", tokenCode: "BTC")
        XCTAssertEqual(btc, "bc1qalice")
        let notYet = try await fb.lookupNbpa(fioAddress: "alice@bind", chainCode: "ETH", tokenCode: "USDT")
        XCTAssertNil(notYet)
        try await fa.grant(friend: "bob@bind", scopes: [.chain(chainCode: "ETH")])
        let usdt = try await fb.lookupNbpa(fioAddress: "alice@bind", chainCode: "ETH", tokenCode: "USDT")
        XCTAssertEqual(usdt, "0xa11ce")

        let request = FundsRequestData(payeePublicAddress: "bc1qbob", chainCode: "BTC", tokenCode: "BTC", amount: "0.5", memo: "rent")
        let id = try await fb.requestFunds(payerFioAddress: "alice@bind", request: request)!
        let mine = try await fa.receivedRequests().items.first { $0.fioRequestId == id }!
        XCTAssertEqual(mine.request.memo, "rent")
        try await fa.payRequest(request: mine, record: PaymentRecord(
            payerPublicAddress: "bc1qalice", payeePublicAddress: "bc1qbob", amount: "0.5",
            chainCode: "BTC", tokenCode: "BTC", obtId: "tx-1"))
        let sent = try await fb.sentRequests().items.first { $0.fioRequestId == id }!
        guard case let .paid(record) = sent.status else { return XCTFail("\(sent.status)") }
        XCTAssertEqual(record.obtId, "tx-1")

        // FioFriends lives as long as its wallet: keep the wallet.
        let phoneWallet = try openWallet(tempDir(), "alice")
        let phone = phoneWallet.friends()
        XCTAssertEqual(try phone.friendCount(), 0)
        let restored = try await phone.restore().restored
        XCTAssertEqual(restored, 1)
        try await phone.removeFriend(friend: "bob@bind")
        let revoked = try await fb.lookupNbpa(fioAddress: "alice@bind", chainCode: "BTC", tokenCode: "BTC")
        XCTAssertNil(revoked)
    }

    func testTypedErrors() async throws {
        let dir = tempDir()
        let a = try openWallet(dir, "alice")
        do {
            _ = try await a.openChannel(peer: "not an address", memo: nil)
            XCTFail("a bad address was accepted")
        } catch let error as FioPeerError {
            XCTAssertEqual(error.code(), 1)
        }
        XCTAssertThrowsError(try a.sendPrivateText(peer: "bob@bind", text: "x", referencedMessageId: nil)) { error in
            XCTAssertEqual((error as! FioPeerError).code(), 3)
        }
        do {
            _ = try await a.friends().addFriend(fioAddress: "nobody@bind")
            XCTFail("nobody@bind was added")
        } catch let error as FioPeerError {
            XCTAssertEqual(error.code(), 5)
        }
        // One FioWallet per file in a process.
        XCTAssertThrowsError(try openWallet(dir, "alice")) { error in
            guard case let FioPeerError.AlreadyOpen(path) = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as! FioPeerError).code(), 11)
            XCTAssertTrue(path.hasSuffix("/alice.sqlite"), path)
        }
        a.shutdown()
        // Another key on Alice's database: its derived database key is another.
        XCTAssertThrowsError(try openWallet(dir, "bob", key: bob, database: "alice")) { error in
            guard case FioPeerError.WrongDatabaseKey = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as! FioPeerError).code(), 13)
        }
        // Alice's key, another address.
        XCTAssertThrowsError(try openWallet(dir, "carol", key: alice, database: "alice")) { error in
            guard case FioPeerError.Storage = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as! FioPeerError).code(), 7)
        }
        let lost = try openWallet(dir, "lost", key: alice, nodes: ["http://127.0.0.1:9"])
        do {
            _ = try await lost.lookupPublicKey(fioAddress: "alice@bind")
            XCTFail("a closed port answered")
        } catch let error as FioPeerError {
            guard case .Network = error else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code(), 4)
        }
    }

    func testTheLoggerBridgeHearsTheSyncOffTheCallersThread() async throws {
        let records = LogRecorder()
        try setLogger(logger: records, level: .info)
        defer { try? setLogger(logger: nil, level: .info) }
        _ = try await openWallet(tempDir(), "alice").sync()
        XCTAssertTrue(eventually { records.snapshot().contains { $0.1.hasPrefix("sync: ") } })
        let seen = records.snapshot()
        XCTAssertTrue(seen.contains { $0.0 == .info && $0.1.hasPrefix("sync: ") })
        XCTAssertFalse(seen.contains { $0.0 == .debug || $0.0 == .trace })
        XCTAssertFalse(records.onMainThread)
    }

    func testAListenerThatThrowsDoesNotStopTheEvents() async throws {
        let dir = tempDir()
        let b = try openWallet(dir, "bob")
        let a = try openWallet(dir, "alice")
        _ = try await b.sync()
        let thrower = Thrower()
        a.setListener(listener: thrower)
        let hello = try await a.openChannel(peer: "bob@bind", memo: nil)
        _ = try await a.sync()
        XCTAssertTrue(eventually { thrower.calls >= 3 }, "\(thrower.calls) calls")
        let heard = Recorder()
        a.setListener(listener: heard)
        _ = try await b.sync()
        _ = try b.acceptRequest(peer: "alice@bind", messageId: hello.messageId, answer: AcceptanceData())
        _ = try await b.sync(); _ = try await a.sync()
        heard.waitFor("bob's accept") {
            if case .some(.accepted) = status($0, hello.messageId) { return true }
            return false
        }
    }

    func testReleasingTheWalletEndsItsEventThread() throws {
        let dir = tempDir()
        let before = eventThreads()
        do {
            let a = try openWallet(dir, "alice")
            a.setListener(listener: Recorder())
            let friends = a.friends()
            XCTAssertTrue(eventually(5) { eventThreads() == before + 1 }, "\(eventThreads()) threads")
            _ = try friends.friendCount()
        }
        XCTAssertTrue(eventually(5) { eventThreads() == before }, "\(eventThreads()) threads")
        // Released, the database opens again.
        XCTAssertTrue(try openWallet(dir, "alice").channels().isEmpty)
    }

    /// Alice with her inbox registered, reopened so that a sync's fetch
    /// waits 20 s on the relay.
    func waitingWallet(_ dir: URL = tempDir()) async throws -> FioWallet {
        _ = try await openWallet(dir, "alice").sync()
        return try openWallet(dir, "alice", longPoll: 20)
    }

    func testACancelledHandleStopsALongPoll() async throws {
        let a = try await waitingWallet()
        let handle = SyncCancel()
        let started = Date()
        Task { try await Task.sleep(nanoseconds: 300_000_000); handle.cancel() }
        do {
            _ = try await a.sync(cancel: handle)
            XCTFail("the sync was not cancelled")
        } catch FioPeerError.Cancelled {}
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(elapsed, 0.3)
        XCTAssertLessThan(elapsed, 10)
    }

    func testASyncWithinABudgetSaysHowItEnded() async throws {
        let a = try await waitingWallet()
        // The 20 s long poll is cut by the 500 ms budget: not an error.
        let started = Date()
        let summary = try await a.syncWithin(options: SyncOptions(timeBudgetMs: 500))
        XCTAssertEqual(summary.stopped, .budget)
        XCTAssertLessThan(Date().timeIntervalSince(started), 8)
        let capped = try await openWallet(tempDir(), "alice")
            .syncWithin(options: SyncOptions(maxMessages: 5))
        XCTAssertEqual(capped.stopped, .complete)
    }

    func testASyncThatWaitsOutItsBudgetForAnotherSaysBusy() async throws {
        let a = try await waitingWallet()
        let handle = SyncCancel()
        let polling = Task { try await a.sync(cancel: handle) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let busy = try await a.syncWithin(options: SyncOptions(timeBudgetMs: 500))
        XCTAssertEqual(busy.stopped, .busy)
        XCTAssertEqual(busy.fetched, 0)
        handle.cancel()
        guard case .failure(FioPeerError.Cancelled) = await polling.result else { return XCTFail() }
    }

    func testShutdownEndsEveryCallAtOnceWithClosedAndFreesTheFile() async throws {
        let dir = tempDir()
        let a = try await waitingWallet(dir)
        let friends = a.friends()
        let polling = Task { try await a.sync() }
        try await Task.sleep(nanoseconds: 500_000_000)
        let started = Date()
        a.shutdown()
        let result = await polling.result
        guard case .failure(FioPeerError.Closed) = result else { return XCTFail("\(result)") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.1)
        XCTAssertThrowsError(try a.channels()) { error in
            XCTAssertEqual((error as! FioPeerError).code(), 12)
        }
        XCTAssertThrowsError(try friends.friendCount()) { error in
            guard case FioPeerError.Closed = error else { return XCTFail("\(error)") }
        }
        do {
            _ = try await friends.isOnFriendListOf(fioAddress: "bob@bind")
            XCTFail("a closed wallet's friends answered")
        } catch FioPeerError.Closed {}
        XCTAssertEqual(a.fioAddress(), "alice@bind")
        // The file is free at once, while `a` is still referenced.
        XCTAssertTrue(try openWallet(dir, "alice").channels().isEmpty)
    }

    func testAHandleSurvivesTheSyncsThatEndWithoutIt() async throws {
        let a = try openWallet(tempDir(), "alice")
        let handle = SyncCancel()
        let first = try await a.sync(cancel: handle)
        XCTAssertTrue(first.registered)
        XCTAssertFalse(handle.isCancelled())
        _ = try await a.sync(cancel: handle)
    }

    /// uniffi's Swift does not pass a Task's cancellation to Rust:
    /// `cancellableSync()` (Sources/FioPeer/FioWallet+Cancellation.swift) does.
    func testACancelledTaskStopsItsSync() async throws {
        let a = try await waitingWallet()
        let started = Date()
        let task = Task { try await a.cancellableSync() }
        try await Task.sleep(nanoseconds: 500_000_000)
        task.cancel()
        let result = await task.result
        guard case .failure(FioPeerError.Cancelled) = result else { return XCTFail("\(result)") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 8)
    }

    func testNoSecretIsPrinted() throws {
        let key = try FioKey.fromWif(wif: alice)
        let expected = "FioKey(FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv)"
        XCTAssertEqual("\(key)", expected)
        XCTAssertEqual(String(describing: key), expected)
        XCTAssertEqual(String(reflecting: key), expected)
        XCTAssertEqual(key, try FioKey.fromWif(wif: key.exportWif()))
        let raw = Data((0..<32).map { UInt8($0) })
        let own = try FioDatabaseKey.fromBytes(bytes: raw)
        XCTAssertEqual("\(own)", "FioDatabaseKey(…)")
        XCTAssertEqual(String(reflecting: own), "FioDatabaseKey(…)")
        var printed = ["\(config(tempDir(), "alice"))", String(reflecting: config(tempDir(), "alice"))]
        do {
            _ = try FioKey.fromWif(wif: String(alice.dropLast()) + "x")
            XCTFail("a bad key was taken")
        } catch { printed += ["\(error)", String(reflecting: error)] }
        do {
            _ = try FioDatabaseKey.fromBytes(bytes: raw.prefix(31))
            XCTFail("31 bytes were taken")
        } catch { printed += ["\(error)", String(reflecting: error)] }
        let hex = raw.map { String(format: "%02x", $0) }.joined()
        for text in printed {
            XCTAssertFalse(text.contains(alice.prefix(20)), text)
            XCTAssertFalse(text.contains(hex.prefix(16)), text)
        }
        let words = try newMnemonic(words: 12)
        let first = try FioKey.fromMnemonic(mnemonic: words)
        XCTAssertEqual(first, try FioKey.fromMnemonic(mnemonic: words, account: 0))
        XCTAssertNotEqual(first.publicKey(), try FioKey.fromMnemonic(mnemonic: words, account: 1).publicKey())
        XCTAssertFalse("\(first)".contains(words.split(separator: " ")[0]))
    }

    func testTheDatabaseIsEncryptedAndRekeyed() async throws {
        let dir = tempDir()
        _ = try await openWallet(dir, "alice").sync()
        let file = dir.appendingPathComponent("alice.sqlite")
        let before = try Data(contentsOf: file)
        // SQLite's 32-byte header stays plaintext, so iOS sees a WAL
        // database it may leave open in an App Group container; 80 bytes
        // reserved per page: encrypted.
        XCTAssertTrue(before.starts(with: Data("SQLite format 3\0".utf8)))
        XCTAssertEqual(before[before.startIndex + 18], 2)
        XCTAssertEqual(before[before.startIndex + 20], 80)
        XCTAssertNil(before.range(of: Data("CREATE TABLE".utf8)))
        XCTAssertNil(before.range(of: Data("alice@bind".utf8)))
        let other = try FioDatabaseKey.fromBytes(bytes: Data(repeating: 9, count: 32))
        XCTAssertThrowsError(try openWallet(dir, "alice", databaseKey: other)) { error in
            guard case FioPeerError.WrongDatabaseKey = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: file), before)
        try await openWallet(dir, "alice").rekey(databaseKey: other)
        XCTAssertThrowsError(try openWallet(dir, "alice"))
        let again = try openWallet(dir, "alice", databaseKey: other)
        XCTAssertNotNil(try again.inbox())
        try await again.rekey(databaseKey: FioDatabaseKey.derivedFrom(key: FioKey.fromWif(wif: alice)))
        again.shutdown()
        XCTAssertNotNil(try openWallet(dir, "alice").inbox())
    }

    func testTheReadmeQuickStartRuns() async throws {
        let summary = try await quickstart(
            dbPath: tempDir().appendingPathComponent("quick.sqlite").path, key: FioKey.fromWif(wif: alice),
            me: "alice@bind", peer: "bob@bind", network: .custom(chainId: env("FIO_TEST_CHAIN_ID")),
            nodes: [env("FIO_TEST_DEVNET")], relay: env("FIO_TEST_RELAY"), localDevnet: true)
        XCTAssertEqual(summary.delivered, 1)
    }
}
