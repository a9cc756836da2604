// Push through the Swift bindings (issue 19), as bindings/python/tests/
// test_push.py and bindings/kotlin/Main.kt test it: a push target prints
// as its kind only; registering, listing and removing it on the inbox; the
// relay's VAPID key; and the notification-extension call on a wallet
// opened afresh, which shows a peer's funds request.
import Foundation
import XCTest
@testable import FioPeer

final class PushTests: XCTestCase {
    func testTheExtensionCallShowsARequestAndRegistrationsCanBeRemoved() async throws {
        let dir = tempDir()
        var a: FioWallet? = try openWallet(dir, "alice")
        let b = try openWallet(dir, "bob")
        try await channel(a!, b)
        // The app has shown what it has so far.
        try a!.markEventsHandled(id: try a!.events(after: nil, limit: 1000).last!.id)
        // A gateway that refuses what it gets (the push fails; the
        // registration and the extension call are what is tested here).
        let base = env("FIO_TEST_REFUSING").components(separatedBy: "/v1/")[0]
        let target = try FioPushTarget.gateway(
            url: base + "/_matrix/push/v1/notify", appId: "com.example.wallet.ios", pushkey: "apns-token-77")
        XCTAssertEqual(String(describing: target), "FioPushTarget(gateway)")
        XCTAssertEqual(target.kind(), "gateway")
        let registered = try await a!.registerPush(target: target)
        XCTAssertEqual(registered.pushId.count, 32)
        XCTAssertEqual(try a!.pushRegistrations().map { $0.pushId }, [registered.pushId])
        let key = try await a!.relayPushKey()
        XCTAssertEqual(key.count, 87)
        a!.shutdown()
        a = nil

        _ = try b.requestFunds(peer: "alice@bind", request: FundsRequestData(
            payeePublicAddress: "bc1qbob", chainCode: "BTC", tokenCode: "BTC", amount: "0.01", memo: "dinner"))
        _ = try await b.sync()

        // The extension: the wallet opened from its file, one call.
        let ext = try openWallet(dir, "alice")
        let got = try await ext.receiveForNotification(budgetMs: 5000)
        XCTAssertEqual(got.notices.map { $0.text }, ["bob@bind requests 0.01 BTC: dinner"])
        XCTAssertEqual(got.notices.first?.action, .newFundsRequest)
        XCTAssertEqual(got.summary.stopped, .complete)
        let again = try await ext.receiveForNotification(budgetMs: 5000)
        XCTAssertTrue(again.notices.isEmpty)
        let removed = try await ext.removePush(pushId: registered.pushId)
        XCTAssertTrue(removed)
        XCTAssertTrue(try ext.pushRegistrations().isEmpty)
        ext.shutdown()
        b.shutdown()
    }
}
